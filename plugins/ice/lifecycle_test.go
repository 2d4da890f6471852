package ice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestBadInput: a description that is malformed or names a candidate
// outside the allowed networks, a session never prepared, and a Prepare
// without peer or role are refused with the matching sentinel.
func TestBadInput(t *testing.T) {
	checkNoLeaks(t)
	tr := configured(t, loopbackOptions())
	ctx := plugintest.Context(t)
	peer := plugintest.RandomPeerID(t)
	for _, c := range []struct {
		name   string
		remote string
		want   error
		text   string
	}{
		{"unspecified address", desc(goodUfrag, goodPwd, "H1 1 UDP 2130706431 0.0.0.0 5000 typ host"), sdk.ErrInvalidDescription, "line 3: address not allowed: unspecified"},
		{"multicast address", desc(goodUfrag, goodPwd, "H1 1 UDP 2130706431 224.0.0.251 5353 typ host"), sdk.ErrInvalidDescription, "line 3: address not allowed: multicast"},
		{"link-local address", desc(goodUfrag, goodPwd, "H1 1 UDP 2130706431 169.254.0.7 5000 typ host"), sdk.ErrInvalidDescription, "line 3: address not allowed: link-local"},
		{"no password", goodUfrag + "\n", sdk.ErrInvalidDescription, "password on line 2"},
		{"no candidates", desc(goodUfrag, goodPwd), sdk.ErrInvalidDescription, "lists no candidates"},
	} {
		p, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.Connect(ctx, sdk.ConnectRequest{Session: p.Session, Remote: sdk.Description{Transport: Name, Data: []byte(c.remote)}})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: Connect: %v, want %v containing %q", c.name, err, c.want, c.text)
		}
	}
	// A peer whose loopback candidate we may not use: include_loopback off.
	strict := configured(t, with(loopbackOptions(), map[string]any{"include_loopback": false, "interfaces": []string{}, "candidate_types": []string{"host"}}))
	if p, err := strict.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator}); err == nil {
		_, err = strict.Connect(ctx, sdk.ConnectRequest{Session: p.Session, Remote: sdk.Description{Transport: Name,
			Data: []byte(desc(goodUfrag, goodPwd, "H1 1 UDP 2130706431 127.0.0.1 5000 typ host"))}})
		if !errors.Is(err, sdk.ErrInvalidDescription) || !strings.Contains(err.Error(), "include_loopback is off") {
			t.Errorf("loopback candidate with include_loopback off: %v", err)
		}
	} else {
		t.Logf("no non-loopback interface here (%v); skipping the loopback-refusal case", err)
	}

	for _, role := range []sdk.ConnRole{sdk.Initiator, sdk.Responder} {
		_, err := tr.Connect(ctx, sdk.ConnectRequest{Session: "never-prepared", Remote: sdk.Description{Transport: Name, Data: []byte(desc(goodUfrag, goodPwd))}})
		if !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("%v: Connect with an unknown session: %v, want ErrNotFound", role, err)
		}
	}
	if _, err := tr.Prepare(ctx, sdk.PrepareRequest{Role: sdk.Initiator}); !errors.Is(err, sdk.ErrInvalidPeerID) {
		t.Errorf("Prepare without a peer: %v, want ErrInvalidPeerID", err)
	}
	if _, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Prepare without a role: %v, want ErrUnsupported", err)
	}
	// A session serves one Connect.
	p, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = tr.Connect(cctx, sdk.ConnectRequest{Session: p.Session})
	if _, err := tr.Connect(ctx, sdk.ConnectRequest{Session: p.Session}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("second Connect of a session: %v, want ErrNotFound", err)
	}
}

// TestPeerNeverAnswers: an initiator whose responder never runs its checks
// returns when its context ends, and when session_timeout passes.
func TestPeerNeverAnswers(t *testing.T) {
	checkNoLeaks(t)
	silent := desc(goodUfrag, goodPwd, fmt.Sprintf("H1 1 UDP 2130706431 127.0.0.1 %d typ host", closedPort(t)))
	tr := configured(t, loopbackOptions())
	peer := plugintest.RandomPeerID(t)

	p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(plugintest.Context(t), 500*time.Millisecond)
	defer cancel()
	_, err = tr.Connect(ctx, sdk.ConnectRequest{Session: p.Session, Remote: sdk.Description{Transport: Name, Data: []byte(silent)}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Connect to a silent peer: %v, want DeadlineExceeded", err)
	}

	short := configured(t, with(loopbackOptions(), map[string]any{"session_timeout": "600ms"}))
	p, err = short.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator})
	if err != nil {
		t.Fatal(err)
	}
	_, err = short.Connect(plugintest.Context(t), sdk.ConnectRequest{Session: p.Session, Remote: sdk.Description{Transport: Name, Data: []byte(silent)}})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "session_timeout") {
		t.Errorf("Connect past session_timeout: %v, want DeadlineExceeded naming session_timeout", err)
	}
}

// TestSessionExpiry: a session never connected is released with its
// sockets after session_timeout.
func TestSessionExpiry(t *testing.T) {
	checkNoLeaks(t)
	tr := configured(t, with(loopbackOptions(), map[string]any{"session_timeout": "200ms"}))
	p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDescription(p.Local, addrPolicy{loopback: true})
	if err != nil || len(d.cands) == 0 {
		t.Fatalf("description %q: %v", p.Local.Data, err)
	}
	addr := net.UDPAddrFromAddrPort(d.cands[0].addr)
	if c, err := net.ListenUDP("udp4", addr); err == nil {
		_ = c.Close()
		t.Fatalf("%v is free while the session holds it", addr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.ListenUDP("udp4", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still bound 10s after a session_timeout of 200ms: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := tr.Connect(plugintest.Context(t), sdk.ConnectRequest{Session: p.Session}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Connect of an expired session: %v, want ErrNotFound", err)
	}
}

// TestCloseReleasesEverything: Close with sessions prepared, a Connect
// waiting, streams open and streams lingering leaves no goroutine of
// pion, quic-go or this package, ends the waiting Connect and breaks the
// open streams.
func TestCloseReleasesEverything(t *testing.T) {
	checkNoLeaks(t)
	a := New(WithLogger(discardLog))
	b := New(WithLogger(discardLog))
	for _, tr := range []*Transport{a, b} {
		if err := tr.Configure(plugintest.Context(t), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: mustJSON(t, loopbackOptions())}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := plugintest.Context(t)
	var open []sdk.Stream
	for range 3 {
		sa, sb, err := connectCore(ctx, t, a, b)
		if err != nil {
			t.Fatal(err)
		}
		plugintest.RoundTrip(t, sa, sb)
		open = append(open, sa, sb)
	}
	// One pair half-read, then closed on one side only: it lingers.
	sa, sb, err := connectCore(ctx, t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	_ = sa.Close() // sb never reads it: sa lingers until Close
	open = append(open, sb)
	for range 2 {
		if _, err := a.Prepare(ctx, sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Initiator}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Prepare(ctx, sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := b.Connect(ctx, sdk.ConnectRequest{Session: p.Session})
		waiting <- err
	}()
	time.Sleep(100 * time.Millisecond)

	for name, tr := range map[string]*Transport{"a": a, "b": b} {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := tr.Close(cctx); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
		cancel()
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("Connect waiting during Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Connect still waiting 5s after Close")
	}
	for i, s := range open {
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(s); err == nil {
			t.Errorf("open stream %d: read to a clean EOF after its transport closed, want an error", i)
		}
		_ = s.Close()
	}
}
