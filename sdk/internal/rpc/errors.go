package rpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// errorTable maps the SDK's sentinel errors to the wire codes carried in a
// gRPC status, both ways, so errors.Is works on the host as in the plugin.
var errorTable = []struct {
	code     string
	grpc     codes.Code
	sentinel error
}{
	{"not_found", codes.NotFound, sdk.ErrNotFound},
	{"unsupported", codes.Unimplemented, sdk.ErrUnsupported},
	{"invalid_config", codes.InvalidArgument, sdk.ErrInvalidConfig},
	{"invalid_description", codes.InvalidArgument, sdk.ErrInvalidDescription},
	{"invalid_peer_id", codes.InvalidArgument, sdk.ErrInvalidPeerID},
	{"not_configured", codes.FailedPrecondition, sdk.ErrNotConfigured},
	{"closed", codes.FailedPrecondition, sdk.ErrClosed},
	{"refused", codes.PermissionDenied, sdk.ErrRefused},
	// Causes before "offline": a stream that broke because a record was
	// altered, or a disk that filled, wraps ErrOffline too.
	{"no_space", codes.ResourceExhausted, sdk.ErrNoSpace},
	{"integrity", codes.DataLoss, record.ErrIntegrity},
	{"source_changed", codes.FailedPrecondition, sdk.ErrSourceChanged},
	{"offline", codes.Unavailable, sdk.ErrOffline},
	{"not_processed", codes.Aborted, sdk.ErrNotProcessed},
	{"hash_mismatch", codes.DataLoss, sdk.ErrHashMismatch},
	{"plugin_exited", codes.Unavailable, sdk.ErrPluginExited},
	{"canceled", codes.Canceled, context.Canceled},
	{"deadline_exceeded", codes.DeadlineExceeded, context.DeadlineExceeded},
}

// toStatus turns an implementation's error into a gRPC status error that
// keeps its message and, where it wraps a sentinel, the sentinel's code.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range errorTable {
		if errors.Is(err, e.sentinel) {
			st := status.New(e.grpc, err.Error())
			if d, derr := st.WithDetails(&pb.ErrorInfo{Code: e.code}); derr == nil {
				st = d
			}
			return st.Err()
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// remoteError is an error that came back from the other process: its text is
// the plugin's, and it unwraps to the sentinel the plugin's error wrapped.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// fromStatus turns a gRPC error into an SDK error. A call whose ctx ended
// returns ctx's error; a call that failed because the plugin process is gone
// returns an error wrapping sdk.ErrPluginExited.
func fromStatus(ctx context.Context, done <-chan struct{}, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	select {
	case <-done:
		return fmt.Errorf("%s: %w", op, sdk.ErrPluginExited)
	default:
	}
	for _, d := range st.Details() {
		if info, ok := d.(*pb.ErrorInfo); ok {
			for _, e := range errorTable {
				if e.code == info.GetCode() {
					return fmt.Errorf("%s: %w", op, &remoteError{msg: st.Message(), sentinel: e.sentinel})
				}
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%s: %s: %w", op, st.Message(), sdk.ErrPluginExited)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", op, context.Canceled)
	}
	return fmt.Errorf("%s: %w", op, &remoteError{msg: st.Message()})
}
