package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/reason"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// TestClassify: each cause a failed attempt can have is retried, stopped
// at once, or waited out, as issue 18 (item 3) asks; errors as they come
// from the protocols (through reason.FromPeer, or wrapped a few times)
// keep their class.
func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want failure
	}{
		{"connection lost", fmt.Errorf("send over ftv2a: %w", sdk.ErrOffline), transient},
		{"plugin restarting", fmt.Errorf("send: %w", sdk.ErrPluginExited), transient},
		{"unknown", errors.New("connection reset by peer"), transient},
		{"another instance answered", fmt.Errorf("x: %w", connect.ErrElsewhere), transient},
		{"stream altered on the path", fmt.Errorf("ftv2a: %w", record.ErrIntegrity), transient},
		{"altered, said by the receiver", reason.FromPeer("ftv2a", reason.Integrity, "record: authentication failed"), transient},
		{"refused", fmt.Errorf("bob: %w", sdk.ErrRefused), permanent},
		{"refused, said by the receiver", reason.FromPeer("ftv2a", reason.Refused, "no"), permanent},
		{"hash mismatch", reason.FromPeer("ftv2a", reason.HashMismatch, "sha-256 mismatch"), permanent},
		{"hash mismatch here", fmt.Errorf("x: %w", transfer.ErrHashMismatch), permanent},
		{"source changed", fmt.Errorf("read: %w", sdk.ErrSourceChanged), permanent},
		{"file changed since scanned", fmt.Errorf("open: %w", transfer.ErrFileChanged), permanent},
		{"name not representable", permanentError{errors.New("file name is 300 bytes long")}, permanent},
		{"no answer", fmt.Errorf("x: %w", connect.ErrNoAnswer), permanent},
		{"not processed", sdk.ErrNotProcessed, permanent},
		{"disk full, said by the receiver", reason.FromPeer("ftv2a", reason.NoSpace, "write: no space left on device"), waitSpace},
		{"disk full, wrapped twice", fmt.Errorf("send over jsonchunk: %w", reason.Wrap(syscall.ENOSPC)), waitSpace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(context.Background(), tc.err); got != tc.want {
				t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if classify(ctx, sdk.ErrOffline) != permanent {
		t.Error("a cancelled send would be retried")
	}
}

// TestFailureHeadlines: the words people see name the cause, and for an
// altered stream how many connections it hit.
func TestFailureHeadlines(t *testing.T) {
	if h := alteredHeadline(2, 3); !strings.Contains(h, "altered on the path") || !strings.Contains(h, "2 of 3 connections") {
		t.Errorf("alteredHeadline(2, 3) = %q", h)
	}
	if h := noSpaceHeadline(spaceWaitFirst); !strings.Contains(h, "disk is full") || !strings.Contains(h, "2s") {
		t.Errorf("noSpaceHeadline = %q", h)
	}
	if !altered(fmt.Errorf("a: %w", record.ErrTLSRecord)) || altered(sdk.ErrOffline) {
		t.Error("altered misreads the record layer's errors")
	}
}
