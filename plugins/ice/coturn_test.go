package ice

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// startCoturn runs an unmodified coturn (Debian's turnserver) on
// 127.0.0.1 with a temporary config, relaying on 127.0.0.1 with long-term
// credentials, and stops it when the test ends. It skips the test when
// turnserver is not installed.
func startCoturn(t testing.TB) turnServer {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("skipping: turnserver (Debian package coturn) is not installed; apt-get install coturn to run this test")
	}
	dir := t.TempDir()
	port := closedPort(t)
	lo := 50000 + rand.IntN(10000)
	conf := strings.Join([]string{
		"listening-ip=127.0.0.1",
		"relay-ip=127.0.0.1",
		fmt.Sprintf("listening-port=%d", port),
		fmt.Sprintf("min-port=%d", lo),
		fmt.Sprintf("max-port=%d", lo+40),
		"fingerprint",
		"lt-cred-mech",
		fmt.Sprintf("user=%s:%s", turnUser, turnPass),
		"realm=" + turnRealm,
		"no-tls", "no-dtls", "no-cli", "no-multicast-peers",
		"allow-loopback-peers",
		"pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"log-file=" + filepath.Join(dir, "turnserver.log"),
		"simple-log",
		"userdb=" + filepath.Join(dir, "turndb"),
	}, "\n") + "\n"
	confPath := filepath.Join(dir, "turnserver.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath)
	out := plugintest.NewLogBuffer(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start turnserver: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "turnserver.log"))
			t.Logf("turnserver output:\n%s\nlog:\n%s", out.String(), log)
		}
	})
	// Ready once it answers a STUN binding request.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err = stunBinding(pctx, c, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		pcancel()
		_ = c.Close()
		if err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("turnserver exited: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("turnserver does not answer on 127.0.0.1:%d\n%s", port, out.String())
		default:
		}
	}
	t.Logf("coturn on 127.0.0.1:%d, relay ports %d-%d", port, lo, lo+40)
	return turnServer{port: port}
}

// TestCoturnRelay runs the relay test through coturn: relay-only on both
// sides, UDP and TCP to the server, both descriptions and the core's flow;
// a wrong password is refused by the real server and named.
func TestCoturnRelay(t *testing.T) {
	checkNoLeaks(t)
	srv := startCoturn(t)
	relayCases(t, srv)
	t.Run("wrong password", func(t *testing.T) {
		tr := configured(t, with(relayOptions(srv.url("udp")), map[string]any{"turn_password": "wrong-password"}))
		_, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
		if err == nil || !strings.Contains(err.Error(), "TURN server "+srv.url("udp")) || !strings.Contains(err.Error(), "refused the credentials") {
			t.Errorf("wrong password at coturn: %v, want an error naming the server and the refusal", err)
		}
	})
}
