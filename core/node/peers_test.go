package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/record"
)

func peerWith(first byte, name string) sdk.PeerInfo {
	var id sdk.PeerID
	id[0] = first
	for i := 1; i < len(id); i++ {
		id[i] = byte(i)
	}
	return sdk.PeerInfo{ID: id, Name: name}
}

func TestResolve(t *testing.T) {
	tab := newPeerTable()
	a, b, c := peerWith(0x00, "laptop"), peerWith(0x01, "phone"), peerWith(0x80, "phone")
	for _, p := range []sdk.PeerInfo{a, b, c} {
		tab.apply(sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: p})
	}
	// a and b share their first characters (first byte 0x00 vs 0x01: the
	// first base32 character is the same); c differs.
	shared := a.ID.String()[:1]
	cases := []struct {
		query     string
		want      sdk.PeerID
		ambiguous bool
		found     bool
	}{
		{a.ID.String(), a.ID, false, true},
		{strings.ToLower(strings.ReplaceAll(a.ID.String(), "-", "")), a.ID, false, true},
		{c.ID.String()[:9], c.ID, false, true}, // with the dash
		{"laptop", a.ID, false, true},
		{"LAPTOP", a.ID, false, true},
		{"phone", sdk.PeerID{}, true, false},
		{shared, sdk.PeerID{}, true, false},
		{"nobody", sdk.PeerID{}, false, false},
	}
	for _, tc := range cases {
		p, ok, _, err := tab.match(tc.query)
		if tc.ambiguous {
			if !errors.Is(err, ErrAmbiguous) {
				t.Errorf("match(%q): %v, want ErrAmbiguous", tc.query, err)
			}
			continue
		}
		if err != nil || ok != tc.found || (ok && p.ID != tc.want) {
			t.Errorf("match(%q) = %s, %v, %v; want %s, %v", tc.query, p.ID.Short(), ok, err, tc.want.Short(), tc.found)
		}
	}
	// The ambiguity error lists the candidates.
	_, _, _, err := tab.match("phone")
	if err == nil || !strings.Contains(err.Error(), b.ID.String()) || !strings.Contains(err.Error(), c.ID.String()) {
		t.Errorf("ambiguity error does not list both phones: %v", err)
	}
	tab.apply(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: c})
	if p, ok, _, err := tab.match("phone"); err != nil || !ok || p.ID != b.ID {
		t.Errorf("after one phone left: %s, %v, %v", p.ID.Short(), ok, err)
	}
}

// TestResolveMistakes checks that a user's mistakes are answered at once
// (a mistyped full ID, this device's own ID), and that a name matching
// nobody waits only the window given and then lists the peers seen.
func TestResolveMistakes(t *testing.T) {
	self, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	bob := peerWith(0x42, "bob")
	n := &Node{id: self, cfg: &config.Config{Discovery: []string{"lan"}}, peers: newPeerTable(), log: slog.New(slog.DiscardHandler)}
	n.peers.apply(sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: bob})

	typo := []byte(bob.ID.String())
	i := 10 // a character in the second group
	typo[i] = map[bool]byte{true: 'B', false: 'C'}[typo[i] != 'B']
	cases := []struct {
		name    string
		query   string
		window  time.Duration
		want    []string
		wantErr error
		bound   time.Duration
	}{
		{"mistyped full id", string(typo), 10 * time.Second, []string{"mistyped", "check character of group"}, sdk.ErrInvalidPeerID, time.Second},
		{"own id", self.ID.String(), 10 * time.Second, []string{"this device's own peer ID"}, ErrSelf, time.Second},
		{"unknown name", "alice", 300 * time.Millisecond, []string{`"alice" not found`, "peers seen: bob (" + bob.ID.Short() + ")"}, sdk.ErrOffline, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := n.Resolve(context.Background(), tc.query, tc.window)
			if took := time.Since(start); took > tc.bound {
				t.Errorf("took %s, want at most %s", took, tc.bound)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.wantErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestCarrying checks that a protocol bounding file names (ftv2a: 255
// bytes) is not offered for a transfer with a longer name, that another is
// offered instead, and that with none left the send fails at once naming
// the file.
func TestCarrying(t *testing.T) {
	const ftv2a, jsonchunk = "/ferry/ftv2a/1", "/ferry/jsonchunk/1"
	n := &Node{nameMax: map[string]int{ftv2a: 255}, log: slog.New(slog.DiscardHandler)}
	long := "folder/" + strings.Repeat("x", 250)
	offer := func(names ...string) sdk.Offer {
		o := sdk.Offer{}
		for _, nm := range names {
			o.Files = append(o.Files, sdk.FileInfo{Name: nm})
		}
		return o
	}
	cases := []struct {
		name    string
		protos  []string
		offer   sdk.Offer
		want    []string
		wantErr string
	}{
		{"short names: every protocol", []string{ftv2a, jsonchunk}, offer("a.txt", "b/c.txt"), []string{ftv2a, jsonchunk}, ""},
		{"a long name: the unbounded one", []string{ftv2a, jsonchunk}, offer("a.txt", long), []string{jsonchunk}, ""},
		{"exactly the bound", []string{ftv2a}, offer(strings.Repeat("y", 255)), []string{ftv2a}, ""},
		{"no protocol can carry it", []string{ftv2a}, offer("a.txt", long), nil, "257 bytes long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := n.carrying(tc.protos, tc.offer)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "folder/xxx") {
					t.Fatalf("error %v, want one naming the file and %q", err, tc.wantErr)
				}
				if classify(context.Background(), err) != permanent {
					t.Errorf("error %v would be retried; it cannot succeed", err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("carrying = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	cases := map[string]error{
		CodeOffline:      fmt.Errorf("find: %w", sdk.ErrOffline),
		CodeRefused:      fmt.Errorf("bob sent REFUSE: %w", sdk.ErrRefused),
		CodeNotProcessed: sdk.ErrNotProcessed,
		CodeNoAnswer:     fmt.Errorf("x: %w", connect.ErrNoAnswer),
		CodeAmbiguous:    fmt.Errorf("x: %w", ErrAmbiguous),
		CodeSelf:         fmt.Errorf("x: %w", ErrSelf),
		CodeBadPeerID:    fmt.Errorf("x: %w", sdk.ErrInvalidPeerID),
		CodeIdentity:     fmt.Errorf("x: %w", &secure.PeerMismatchError{}),
		CodeHashMismatch: fmt.Errorf("x: %w", sdk.ErrHashMismatch),
		CodeTooLarge:     fmt.Errorf("x: %w", ErrMessageTooLarge),
		CodeCancelled:    fmt.Errorf("x: %w", context.Canceled),
		CodeNoSpace:      fmt.Errorf("x: %w", sdk.ErrNoSpace),
		CodeIntegrity:    fmt.Errorf("x: %w", record.ErrIntegrity),
		CodeChanged:      fmt.Errorf("x: %w", sdk.ErrSourceChanged),
		CodeFailed:       errors.New("disk on fire"),
	}
	for want, err := range cases {
		if got := ErrorCode(err); got != want {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
	if ErrorCode(nil) != "" {
		t.Error("ErrorCode(nil) is not empty")
	}
}

// TestHoldAsk: before Serve, ASKs are kept (the newest earlyAskMax) for it
// rather than dropped, since a receiver announces itself at Start.
func TestHoldAsk(t *testing.T) {
	n := &Node{log: slog.New(slog.DiscardHandler)}
	from := peerWith(0x07, "alice").ID
	for i := range earlyAskMax + 3 {
		m := &connect.Message{Type: connect.TypeAsk, ID: fmt.Sprintf("%032x", i)}
		if srv := n.holdAsk(from, m); srv != nil {
			t.Fatal("holdAsk returned a server before Serve")
		}
	}
	if len(n.early) != earlyAskMax || n.early[0].msg.ID != fmt.Sprintf("%032x", 3) {
		t.Errorf("held %d ASKs starting at %s, want the newest %d", len(n.early), n.early[0].msg.ID, earlyAskMax)
	}
	n.serve = &server{}
	if n.holdAsk(from, &connect.Message{}) != n.serve || len(n.early) != earlyAskMax {
		t.Error("after Serve an ASK was held instead of handed to the server")
	}
}
