package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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

// TestTooManyFilesForOneAsk: an offer too large for one signaling message
// fails at once, saying so, instead of being retried.
func TestTooManyFilesForOneAsk(t *testing.T) {
	_, recvID := startBuiltinNode(t, "bob")
	send, _ := startBuiltinNode(t, "alice")
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	man := &transfer.Manifest{}
	for i := range 600 {
		man.Files = append(man.Files, transfer.LocalFile{Path: src, Info: sdk.FileInfo{
			Name: fmt.Sprintf("photos/2026/IMG_%04d.jpg", i), Size: 1, MediaType: "image/jpeg", SHA256: make([]byte, 32),
		}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peer, err := send.Resolve(ctx, recvID.ID.String(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// RetryFor outlasts ctx: a sender that retried would end with ctx's
	// error, not ErrMessageTooLarge.
	err = send.Send(ctx, peer, man, node.SendOptions{RetryFor: time.Minute})
	if !errors.Is(err, node.ErrMessageTooLarge) || !strings.Contains(err.Error(), "600 files") {
		t.Fatalf("Send of 600 files: %v, want ErrMessageTooLarge naming the count", err)
	}
}
