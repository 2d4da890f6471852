package reason

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// TestOfAndBack: every reason a local error stands for survives the trip
// through the wire's words: FromPeer of Of(err) wraps the same sentinel.
func TestOfAndBack(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "/recv/f.part", Err: syscall.ENOSPC}
	cases := []struct {
		err      error
		want     string
		sentinel error
	}{
		{enospc, NoSpace, sdk.ErrNoSpace},
		{fmt.Errorf("commit: %w", syscall.EDQUOT), NoSpace, sdk.ErrNoSpace},
		{fmt.Errorf("read: %w", record.ErrIntegrity), Integrity, record.ErrIntegrity},
		{fmt.Errorf("read: %w", record.ErrTLSRecord), Integrity, record.ErrIntegrity},
		{fmt.Errorf("close: %w", sdk.ErrHashMismatch), HashMismatch, sdk.ErrHashMismatch},
		{fmt.Errorf("read: %w", sdk.ErrSourceChanged), SourceChanged, sdk.ErrSourceChanged},
		{fmt.Errorf("decide: %w", sdk.ErrRefused), Refused, sdk.ErrRefused},
		{errors.New("rename failed"), Failed, nil},
	}
	for _, tc := range cases {
		t.Run(tc.want+"/"+tc.err.Error(), func(t *testing.T) {
			got := Of(tc.err)
			if got != tc.want {
				t.Fatalf("Of(%v) = %q, want %q", tc.err, got, tc.want)
			}
			back := FromPeer("peer", got, tc.err.Error())
			if tc.sentinel != nil && !errors.Is(back, tc.sentinel) {
				t.Errorf("FromPeer(%q) = %v, does not wrap %v", got, back, tc.sentinel)
			}
			if tc.sentinel == nil && Sentinel(got) != nil {
				t.Errorf("Sentinel(%q) = %v, want nil", got, Sentinel(got))
			}
		})
	}
	if Of(nil) != "" {
		t.Error("Of(nil) is not empty")
	}
}

// TestWrap: ENOSPC gains sdk.ErrNoSpace (which crosses a plugin's RPC);
// anything else is left as it is.
func TestWrap(t *testing.T) {
	err := Wrap(&os.PathError{Op: "write", Path: "p", Err: syscall.ENOSPC})
	if !errors.Is(err, sdk.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Wrap(ENOSPC) = %v, want both sdk.ErrNoSpace and ENOSPC", err)
	}
	if Wrap(err) != err {
		t.Error("Wrap wrapped twice")
	}
	other := errors.New("x")
	if Wrap(other) != other || Wrap(nil) != nil {
		t.Error("Wrap changed an error that is not a full disk")
	}
}
