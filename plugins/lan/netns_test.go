package lan

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// nsIface is the name of each end namespace's link to the bridge.
const nsIface = "ferry0"

// nsNamePattern matches the namespaces these tests make: kind, the test
// process's PID, a random suffix.
var nsNamePattern = regexp.MustCompile(`^ferry-(br|a|b)-(\d+)-[0-9a-f]+$`)

// ipCmd runs the ip tool and stops the test on failure.
func ipCmd(t *testing.T, ipPath string, args ...string) string {
	t.Helper()
	out, err := exec.Command(ipPath, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sweepStaleNamespaces deletes namespaces of this test left behind by a
// test process that no longer exists (one killed by go test's timeout
// before its cleanups ran).
func sweepStaleNamespaces(t *testing.T, ipPath string) {
	out, err := exec.Command(ipPath, "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := nsNamePattern.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			t.Logf("deleting namespace %s left by process %d", name, pid)
			_ = exec.Command(ipPath, "netns", "del", name).Run()
		}
	}
}

// bridgeTopology makes three namespaces: one holding a Linux bridge (no
// multicast snooping) and two joined to it by veth pairs, each end named
// ferry0, with IPv6 duplicate address detection off so the link-local
// addresses are usable at once, and, when withIPv4, 198.18.0.1/24 and
// 198.18.0.2/24. Nothing is added to the host's own namespace. Cleanup
// deletes the namespaces, which destroys their links.
func bridgeTopology(t *testing.T, ipPath string, withIPv4 bool) (nsA, nsB string) {
	t.Helper()
	var r [3]byte
	_, _ = rand.Read(r[:])
	suffix := fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(r[:]))
	nsBr := "ferry-br-" + suffix
	nsA, nsB = "ferry-a-"+suffix, "ferry-b-"+suffix
	for _, ns := range []string{nsBr, nsA, nsB} {
		ipCmd(t, ipPath, "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command(ipPath, "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("delete namespace %s: %v\n%s", ns, err, out)
			}
		})
		for _, conf := range []string{"all", "default"} {
			path := "/proc/sys/net/ipv6/conf/" + conf + "/accept_dad"
			ipCmd(t, ipPath, "netns", "exec", ns, "sh", "-c", "echo 0 > "+path)
		}
		ipCmd(t, ipPath, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, ipPath, "-n", nsBr, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	ipCmd(t, ipPath, "-n", nsBr, "link", "set", "br0", "up")
	for i, ns := range []string{nsA, nsB} {
		port := fmt.Sprintf("v%d", i)
		ipCmd(t, ipPath, "-n", nsBr, "link", "add", port, "type", "veth", "peer", "name", nsIface, "netns", ns)
		ipCmd(t, ipPath, "-n", nsBr, "link", "set", port, "master", "br0", "up")
		if withIPv4 {
			ipCmd(t, ipPath, "-n", ns, "addr", "add", fmt.Sprintf("198.18.0.%d/24", i+1), "dev", nsIface)
		}
		ipCmd(t, ipPath, "-n", ns, "link", "set", nsIface, "up")
	}
	// Wait for the link-local addresses (DAD is off, but the links take a
	// moment to come up).
	for _, ns := range []string{nsA, nsB} {
		deadline := time.Now().Add(eventually)
		for {
			out := ipCmd(t, ipPath, "-n", ns, "-6", "addr", "show", "dev", nsIface, "scope", "link")
			if strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("%s has no usable IPv6 link-local address on %s; IPv6 multicast will not be exercised:\n%s", ns, nsIface, out)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nsA, nsB
}

// safeLog writes plugin log lines to the test log until the test ends.
type safeLog struct {
	t    *testing.T
	name string
	mu   sync.Mutex
	done bool
}

func (w *safeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("[%s] %s", w.name, bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// launchInNamespace starts the plugin binary inside namespace ns with
// `ip netns exec`, through the SDK's own launcher: the go-plugin handshake
// and the data channel on descriptors 3 and 4 pass through ip, which execs
// the plugin in place. The pinned binary is ip itself.
func launchInNamespace(t *testing.T, ipPath, bin, ns string) *host.Process {
	t.Helper()
	f, err := os.Open(ipPath)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lw := &safeLog{t: t, name: ns}
	pp, err := host.Launch(ctx, host.LaunchConfig{
		Name: "lan-" + ns, Path: ipPath, SHA256: hex.EncodeToString(h.Sum(nil)),
		Args:      []string{"netns", "exec", ns, bin},
		LogOutput: lw, LogLevel: "info",
	})
	if err != nil {
		t.Fatalf("launch %s in %s: %v", bin, ns, err)
	}
	t.Cleanup(func() {
		lw.mu.Lock()
		lw.done = true
		lw.mu.Unlock()
	})
	t.Cleanup(pp.Kill)
	return pp
}

// TestBridgeNamespaces runs the external binary in two network namespaces
// joined by a bridge in a third, and checks that JOIN, PING replies and
// LEAVE cross it over IPv4 directed broadcast and IPv6 link-local
// multicast, and that signaling works across it; then the same with IPv6
// link-local addresses only.
func TestBridgeNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	ipPath, err := exec.LookPath("ip")
	if err != nil {
		t.Skipf("needs the ip tool (iproute2): %v", err)
	}
	if err := exec.Command(ipPath, "netns", "list").Run(); err != nil {
		t.Skipf("ip netns does not work here: %v", err)
	}
	sweepStaleNamespaces(t, ipPath)
	bin := plugintest.PluginBinary(t, "lan", "github.com/ferry-p2p/ferry/plugins/lan/cmd/lan")
	// Default broadcast (198.18.0.255) and multicast group.
	t.Run("ipv4+ipv6", func(t *testing.T) { runBridge(t, ipPath, bin, true, true, "") })
	// No IPv4 address: multicast JOIN, PING and SIGNAL over link-local
	// IPv6 only.
	t.Run("ipv6-only", func(t *testing.T) { runBridge(t, ipPath, bin, false, true, "") })
	// The limited broadcast, sent out of the chosen interface only; no
	// multicast.
	t.Run("limited-broadcast", func(t *testing.T) {
		runBridge(t, ipPath, bin, true, false, `, "broadcast_addresses": ["255.255.255.255"], "multicast_group": ""`)
	})
}

// runBridge starts a and b in a new topology and checks what crosses the
// bridge. want6 says whether IPv6 multicast is on (and so both families
// are expected); extra is added to the configuration object.
func runBridge(t *testing.T, ipPath, bin string, withIPv4, want6 bool, extra string) {
	nsA, nsB := bridgeTopology(t, ipPath, withIPv4)
	// Announce once a minute: within the test, a peer is learnt from its
	// JOIN or from the unicast PING reply to ours, and lost only by LEAVE.
	cfg := []byte(`{"interfaces": ["` + nsIface + `"], "announce_interval": "1m", "peer_timeout": "2m"` + extra + `}`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*eventually)
	defer cancel()
	start := func(ns, name string) (sdk.PeerID, sdk.Discovery, sdk.Signaling, <-chan sdk.PeerEvent) {
		pp := launchInNamespace(t, ipPath, bin, ns)
		d, err := pp.Discovery()
		if err != nil {
			t.Fatal(err)
		}
		s, err := pp.Signaling()
		if err != nil {
			t.Fatal(err)
		}
		id, _, del := newIdentity(t)
		if err := d.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
			t.Fatalf("%s: Configure: %v", name, err)
		}
		t.Cleanup(func() { closePlugin(t, name, d) })
		return id, d, s, watch(t, d)
	}

	idA, dA, sA, wA := start(nsA, "a")
	announceSelf(t, dA, idA, "a")
	idB, dB, sB, wB := start(nsB, "b")
	announceSelf(t, dB, idB, "b")

	// b's JOIN reaches a; a's PING reply tells b about a.
	evB, _ := awaitEvent(t, wA, sdk.PeerJoined, idB)
	evA, _ := awaitEvent(t, wB, sdk.PeerJoined, idA)
	t.Logf("a sees b at %v; b sees a at %v", evB.Peer.Addrs, evA.Peer.Addrs)
	if evB.Peer.Name != "b" || evA.Peer.Name != "a" {
		t.Fatalf("names %q and %q", evB.Peer.Name, evA.Peer.Name)
	}
	// Each learns the other's IPv4 address (if any) and its IPv6
	// link-local one: the JOIN and the PING replies went both ways.
	want := func(d sdk.Discovery, id sdk.PeerID, ip4 string) {
		t.Helper()
		deadline := time.Now().Add(eventually)
		for {
			info, err := d.Lookup(ctx, id)
			has4, has6 := !withIPv4, !want6
			for _, a := range info.Addrs {
				has4 = has4 || strings.HasPrefix(a, "udp4:"+ip4+":")
				has6 = has6 || (strings.HasPrefix(a, "udp6:[fe80::") && strings.Contains(a, "%"+nsIface+"]:"))
			}
			if err == nil && has4 && has6 && (want6 || len(info.Addrs) == 1) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Lookup(%s) = %v, %v; want an IPv4 address (%v) and an IPv6 link-local one (%v)", id.Short(), info.Addrs, err, withIPv4, want6)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	want(dA, idB, "198.18.0.2")
	want(dB, idA, "198.18.0.1")

	// Signaling across the bridge, both ways.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	inA, err := sA.Receive(rctx)
	if err != nil {
		t.Fatal(err)
	}
	inB, err := sB.Receive(rctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from sdk.Signaling
		to   sdk.PeerID
		in   <-chan sdk.Envelope
	}{{sA, idB, inB}, {sB, idA, inA}} {
		payload := make([]byte, 20<<10)
		_, _ = rand.Read(payload)
		if err := c.from.Send(ctx, sdk.Envelope{To: c.to, Payload: payload}); err != nil {
			t.Fatalf("Send across the bridge: %v", err)
		}
		awaitEnvelope(t, c.in, payload)
	}

	// b's LEAVE crosses too.
	closePlugin(t, "b", dB)
	awaitEvent(t, wA, sdk.PeerLeft, idB)
}
