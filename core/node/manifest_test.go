package node

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/token"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// manifestServer returns a receiving side with a real inbox in temporary
// folders, and the inbox's receive and state folders.
func manifestServer(t *testing.T) (*server, string, string) {
	t.Helper()
	self, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir, state := t.TempDir(), t.TempDir()
	inbox, err := transfer.OpenInbox(dir, state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inbox.Close() })
	n := &Node{id: self, log: slog.New(slog.DiscardHandler), subs: map[int]func(Event){}}
	return &server{n: n, inbox: inbox}, dir, state
}

// manifestOffer is an offer of n files in nested folders of one top-level
// folder.
func manifestOffer(n int) sdk.Offer {
	o := sdk.Offer{TransferID: transfer.NewID()}
	for i := range n {
		o.Files = append(o.Files, sdk.FileInfo{Name: fmt.Sprintf("tree/d%02d/e%02d/f%05d", i%50, i%7, i), Size: int64(i % 1000)})
	}
	return o
}

// resummed returns m with its summary's length and digest made to match
// bytes b (a sender that lies consistently).
func resummed(m *connect.Manifest, b []byte) *connect.Manifest {
	sum := sha256.Sum256(b)
	s := m.Summary
	s.Bytes, s.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
	return &connect.Manifest{Bytes: b, Summary: s}
}

// entriesIn counts what lies under dir.
func entriesIn(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// The manifest that follows a summary ASK is checked whole before the
// transfer is recorded: a manifest whose digest does not match the ASK, one
// with a duplicate name, one with a path-traversal name deep inside 10,000
// files and one longer than announced are each refused with a clear error
// to both sides, and nothing is written in either folder. A good one is
// accepted, recorded, and answered with a token for its files.
func TestManifestChecked(t *testing.T) {
	const count = 10000
	o := manifestOffer(count)
	good, err := connect.NewManifest(o, []string{"tree/empty/inside"})
	if err != nil {
		t.Fatal(err)
	}
	// swapName returns the manifest with file i renamed, its summary
	// matching.
	swapName := func(i int, name string) *connect.Manifest {
		o2 := o
		o2.Files = append([]sdk.FileInfo(nil), o.Files...)
		o2.Files[i].Name = name
		m, err := connect.NewManifest(o2, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	digestOff := *good
	digestOff.Summary.SHA256 = strings.Repeat("5", 64)
	longer := resummed(good, append(append([]byte(nil), good.Bytes...), `{"name":"tree/x","size":"0"}`+"\n"...))
	longer.Summary = good.Summary // announced: the good one's length

	cases := []struct {
		name string
		sent *connect.Manifest // what the sender sends
		ask  connect.Summary   // what its ASK announced
		want string            // in both sides' errors; "" accepts
	}{
		{"good", good, good.Summary, ""},
		{"digest does not match the ASK", good, digestOff.Summary, "does not match"},
		{"duplicate name", swapName(7000, o.Files[12].Name), swapName(7000, o.Files[12].Name).Summary, "same name as file 12"},
		{"path traversal deep inside", swapName(9876, "tree/d01/../../../etc/passwd"), swapName(9876, "tree/d01/../../../etc/passwd").Summary, ".."},
		{"longer than announced", longer, good.Summary, "bytes long, the ASK announced"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir, state := manifestServer(t)
			from := peerWith(9, "alice")
			var refused []string
			s.n.subs[0] = func(e Event) {
				if e.Kind == EventRefused {
					refused = append(refused, e.Message)
				}
			}
			ask := tc.ask
			m := &connect.Message{Type: connect.TypeAsk, ID: o.TransferID, Sender: connect.User{Name: "alice", ID: from.ID.String()}, Ferry: connect.Ferry{Manifest: &ask}}
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			type result struct {
				v   *connect.Verdict
				err error
			}
			sent := make(chan result, 1)
			go func() {
				v, err := connect.WriteManifest(a, tc.sent)
				sent <- result{v, err}
			}()
			inc, err := s.takeManifest(b, from.ID, m, nil, Event{})
			var r result
			select {
			case r = <-sent:
			case <-time.After(30 * time.Second):
				t.Fatal("the sender got no verdict")
			}
			if tc.want == "" {
				if err != nil || r.err != nil {
					t.Fatalf("receiver: %v; sender: %v; want accepted", err, r.err)
				}
				if got := len(inc.Record().Files); got != count {
					t.Errorf("recorded %d files, want %d", got, count)
				}
				if _, err := token.Check(s.n.id.PrivateKey(), from.ID, o, r.v.Token, time.Now()); err != nil {
					t.Errorf("the token from the verdict does not check for the offer: %v", err)
				}
				if entriesIn(t, state) == 0 {
					t.Error("an accepted manifest left no record")
				}
				if st, err := os.Stat(filepath.Join(dir, "tree", "empty", "inside")); err != nil || !st.IsDir() {
					t.Errorf("the manifest's empty folder was not made: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("receiver: %v, want an error saying %q", err, tc.want)
			}
			if !errors.Is(r.err, sdk.ErrRefused) || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("sender: %v, want a refusal saying %q", r.err, tc.want)
			}
			if len(refused) != 1 {
				t.Errorf("refused events %q, want one", refused)
			}
			if n, m := entriesIn(t, dir), entriesIn(t, state); n != 0 || m != 0 {
				t.Errorf("a refused manifest left %d entries in the receive folder and %d in the state folder", n, m)
			}
		})
	}
}
