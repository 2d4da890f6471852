package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/plugins"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// startBuiltinNode runs a node in this process with the in-process twins of
// lan, tcp and ftv2a (configs/loopback.yaml with builtin: true).
func startBuiltinNode(t *testing.T, name string) (*node.Node, *identity.Identity) {
	t.Helper()
	data, err := os.ReadFile(loopbackConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("builtin: false"), []byte("builtin: true"))
	path := filepath.Join(t.TempDir(), "builtin.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg, err := config.Load(config.LoadOptions{Home: home, File: path, Env: []string{"FERRY_DEVICE_NAME=" + name}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.LoadOrCreate(home)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := plugins.New(cfg, plugins.Options{Builtins: builtins, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := node.Start(ctx, node.Options{Config: cfg, Identity: id, Catalog: cat, PeerTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cat.Close(ctx)
	})
	return n, id
}

// TestHostileNamesRefused: a sender whose offer names files outside the
// receive folder (a modified sender: ferry's own Scan never makes such
// names) is refused with the reason, and nothing is written anywhere.
func TestHostileNamesRefused(t *testing.T) {
	recv, recvID := startBuiltinNode(t, "bob")
	send, _ := startBuiltinNode(t, "mallory")
	root := t.TempDir()
	dst := filepath.Join(root, "inbox")
	inbox, err := transfer.OpenInbox(dst, filepath.Join(root, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	recv.Serve(inbox, nil, func(context.Context, node.Ask) string { return "" }) // accepts everything it can

	content := []byte("root:x:0:0::/root:/bin/sh\n")
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	sum := sha256.Sum256(content)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	peer, err := send.Resolve(ctx, recvID.ID.String(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../../etc/passwd", "/etc/passwd", "a/../../../x", "ok/\x1b[2Jevil", "CON"} {
		t.Run(strings.ToValidUTF8(name, "?"), func(t *testing.T) {
			man := &transfer.Manifest{Files: []transfer.LocalFile{{
				Path: src,
				Info: sdk.FileInfo{Name: name, Size: int64(len(content)), SHA256: sum[:], ModTime: fi.ModTime()},
			}}}
			err := send.Send(ctx, peer, man, node.SendOptions{RetryFor: time.Second})
			if !errors.Is(err, sdk.ErrRefused) {
				t.Fatalf("offer of %q: %v, want REFUSE", name, err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "REFUSE") || !strings.Contains(err.Error(), "name") {
				t.Errorf("refusal does not say the name is the problem: %v", err)
			}
		})
	}
	var found []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, filepath.Join(root, "state")) {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 0 {
		t.Errorf("files written for refused offers: %v", found)
	}
}

// TestLargeOfferByManifest: an offer too large to list in one signaling
// message goes out as a summary (count, size, top-level names, digest),
// which is what the receiver's Decider sees; the file list follows on the
// secure stream, and every file arrives and is verified.
func TestLargeOfferByManifest(t *testing.T) {
	recv, recvID := startBuiltinNode(t, "bob")
	send, _ := startBuiltinNode(t, "alice")
	root := t.TempDir()
	dst := filepath.Join(root, "inbox")
	inbox, err := transfer.OpenInbox(dst, filepath.Join(root, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	asks := make(chan node.Ask, 1)
	recv.Serve(inbox, nil, func(_ context.Context, a node.Ask) string {
		asks <- a
		return ""
	})
	srcDir := filepath.Join(t.TempDir(), "photos")
	const count = 600
	for i := range count {
		p := filepath.Join(srcDir, fmt.Sprintf("2026/%02d", i%12), fmt.Sprintf("IMG_%04d.jpg", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("photo %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	man, err := transfer.ScanWith(ctx, []string{srcDir}, transfer.ScanOptions{Defer: true})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := send.Resolve(ctx, recvID.ID.String(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := send.Send(ctx, peer, man, node.SendOptions{RetryFor: time.Second}); err != nil {
		t.Fatalf("Send of %d files: %v", count, err)
	}
	a := <-asks
	if a.Summary == nil || a.Summary.Files != count || a.Summary.TopCount != 1 || a.Summary.Top[0] != "photos" || len(a.Offer.Files) != 0 {
		t.Errorf("the Decider saw summary %+v and %d files; want a summary of %d files in photos", a.Summary, len(a.Offer.Files), count)
	}
	if got, want := treeHashes(t, filepath.Join(dst, "photos")), treeHashes(t, srcDir); !maps.Equal(got, want) {
		t.Errorf("received %d files, sent %d, or contents differ", len(got), len(want))
	}
}

// TestUnholdableNamesRefusedPerFile: files whose names the receiving file
// system cannot hold (a Windows device name, a trailing dot, a component
// over 255 bytes; a modified sender, since ferry's own scan skips them)
// are refused one by one with the reason, the sender reports each in its
// Skipped list, and the other files arrive, over either protocol.
func TestUnholdableNamesRefusedPerFile(t *testing.T) {
	recv, recvID := startBuiltinNode(t, "bob")
	send, _ := startBuiltinNode(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	peer, err := send.Resolve(ctx, recvID.ID.String(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "inbox")
	inbox, err := transfer.OpenInbox(dst, filepath.Join(root, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	recv.Serve(inbox, nil, func(context.Context, node.Ask) string { return "" })
	cases := []struct {
		protocol string
		bad      []string
	}{
		{"ftv2a", []string{"d1/CON.txt", "d1/trailing."}},
		{"jsonchunk", []string{"d2/aux", "d2/" + strings.Repeat("x", 300) + ".txt"}},
	}
	for _, tc := range cases {
		t.Run(tc.protocol, func(t *testing.T) {
			top := strings.Split(tc.bad[0], "/")[0]
			man := &transfer.Manifest{}
			add := func(name string, body string) {
				p := filepath.Join(t.TempDir(), "src")
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				fi, _ := os.Stat(p)
				sum := sha256.Sum256([]byte(body))
				man.Files = append(man.Files, transfer.LocalFile{Path: p, Info: sdk.FileInfo{Name: name, Size: fi.Size(), SHA256: sum[:], ModTime: fi.ModTime(), Mode: 0o644}})
			}
			add(top+"/a.txt", "first")
			for _, b := range tc.bad {
				add(b, "refused "+b)
			}
			add(top+"/z.txt", "last")
			if err := send.Send(ctx, peer, man, node.SendOptions{RetryFor: time.Second, Protocol: tc.protocol}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(man.Skipped) != len(tc.bad) {
				t.Fatalf("skipped %q, want the %d refused files", man.Skipped, len(tc.bad))
			}
			for _, s := range man.Skipped {
				if !strings.Contains(s, "refused by the receiver") || !strings.Contains(s, "cannot hold") {
					t.Errorf("skipped entry %q does not say the receiver refused it and why", s)
				}
			}
			got := treeHashes(t, filepath.Join(dst, top))
			if len(got) != 2 || got["a.txt"] == "" || got["z.txt"] == "" {
				t.Errorf("received %v, want a.txt and z.txt only", got)
			}
		})
	}
}
