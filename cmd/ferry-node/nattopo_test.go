package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The NAT topology of the ICE tests, all in network namespaces this test
// process makes and deletes, addresses from 198.18.0.0/15 (RFC 2544):
//
//	pub  198.18.0.10 and .11 on a bridge: coturn (STUN and TURN on both
//	     addresses) and a DHT bootstrap node; its default route points at
//	     198.18.0.254, which nobody holds
//	ra   router: wan 198.18.0.1 on the bridge, lan 198.19.1.1; NAT
//	ha   host behind ra: 198.19.1.2, default route via ra
//	rb   router: wan 198.18.0.2, lan 198.19.2.1; NAT
//	hb   host behind rb: 198.19.2.2, default route via rb
//
// The routers have no default route, so a packet for the other side's
// private network is answered "network unreachable" at once, and no
// packet can leave the namespaces.
const (
	natPubAddr  = "198.18.0.10"
	natPubAddr2 = "198.18.0.11"
	natUpstream = "198.18.0.254" // pub's gateway, which does not exist
	natTURNPort = 3478
	natDHTPort  = 4001
	natTURNUser = "ferry"
	natTURNPass = "nat-test-secret"
)

// natMode says how the routers translate.
type natMode int

const (
	// natPortPreserving: MASQUERADE, which keeps the source port when it
	// can (an endpoint-independent mapping for one socket).
	natPortPreserving natMode = iota
	// natRandom: MASQUERADE --random-fully, a new random port per
	// destination (endpoint-dependent mapping): direct checks fail.
	natRandom
	// natNoUDP: port-preserving, but each router drops UDP to and from
	// the other router: only the TURN relay connects the hosts.
	natNoUDP
)

// natNet is a built topology.
type natNet struct {
	pub, ra, rb, ha, hb string // namespace names
}

// natNamePattern matches the namespaces this file makes: role, the test
// process's PID, a random suffix.
var natNamePattern = regexp.MustCompile(`^fnat-(pub|ra|rb|ha|hb)-(\d+)-[0-9a-f]+$`)

// needNATTools skips the test, saying why, unless it runs as root with
// ip, iptables and turnserver installed.
func needNATTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the NAT tests build network namespaces, which needs root")
	}
	for _, tool := range []string{"ip", "iptables", "turnserver"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (apt-get install iproute2 iptables coturn; .ci/run does)", tool)
		}
	}
}

// run runs a command and stops the test on failure.
func natRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// sweepStaleNATNamespaces deletes namespaces of these tests left behind by
// a test process that no longer exists.
func sweepStaleNATNamespaces(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := natNamePattern.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			t.Logf("deleting namespace %s left by process %d", name, pid)
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// newNATNet builds the topology with both routers in mode; the test's
// cleanup deletes it (after the processes started later have stopped).
func newNATNet(t *testing.T, mode natMode) *natNet {
	t.Helper()
	needNATTools(t)
	sweepStaleNATNamespaces(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	suffix := fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(r[:]))
	n := &natNet{pub: "fnat-pub-" + suffix, ra: "fnat-ra-" + suffix, rb: "fnat-rb-" + suffix, ha: "fnat-ha-" + suffix, hb: "fnat-hb-" + suffix}
	for _, ns := range []string{n.pub, n.ra, n.rb, n.ha, n.hb} {
		natRun(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("delete namespace %s: %v\n%s", ns, err, out)
			}
		})
		natRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	// The public segment: a bridge in pub, its own two addresses on it.
	natRun(t, "ip", "-n", n.pub, "link", "add", "br0", "type", "bridge")
	natRun(t, "ip", "-n", n.pub, "link", "set", "br0", "up")
	natRun(t, "ip", "-n", n.pub, "addr", "add", natPubAddr+"/24", "dev", "br0")
	natRun(t, "ip", "-n", n.pub, "addr", "add", natPubAddr2+"/24", "dev", "br0")
	// Like a server on the internet, pub sends what is for elsewhere (a
	// peer's private host candidate) to a gateway, where it is lost; none
	// answers at natUpstream, so nothing leaves the bridge. Without a
	// route, coturn's relay socket would get "network unreachable".
	natRun(t, "ip", "-n", n.pub, "route", "add", "default", "via", natUpstream)
	for i, side := range []struct{ router, host string }{{n.ra, n.ha}, {n.rb, n.hb}} {
		k := i + 1
		port := fmt.Sprintf("wan%d", k)
		natRun(t, "ip", "-n", n.pub, "link", "add", port, "type", "veth", "peer", "name", "wan", "netns", side.router)
		natRun(t, "ip", "-n", n.pub, "link", "set", port, "master", "br0", "up")
		natRun(t, "ip", "-n", side.router, "addr", "add", fmt.Sprintf("198.18.0.%d/24", k), "dev", "wan")
		natRun(t, "ip", "-n", side.router, "link", "set", "wan", "up")
		natRun(t, "ip", "-n", side.router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", side.host)
		natRun(t, "ip", "-n", side.router, "addr", "add", fmt.Sprintf("198.19.%d.1/24", k), "dev", "lan")
		natRun(t, "ip", "-n", side.router, "link", "set", "lan", "up")
		natRun(t, "ip", "-n", side.host, "addr", "add", fmt.Sprintf("198.19.%d.2/24", k), "dev", "eth0")
		natRun(t, "ip", "-n", side.host, "link", "set", "eth0", "up")
		natRun(t, "ip", "-n", side.host, "route", "add", "default", "via", fmt.Sprintf("198.19.%d.1", k))
		natRun(t, "ip", "netns", "exec", side.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		masq := []string{"netns", "exec", side.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
		if mode == natRandom {
			masq = append(masq, "--random-fully")
		}
		natRun(t, "ip", masq...)
		if mode == natNoUDP {
			other := fmt.Sprintf("198.18.0.%d", 3-k)
			natRun(t, "ip", "netns", "exec", side.router, "iptables", "-A", "FORWARD", "-p", "udp", "-d", other, "-j", "DROP")
			natRun(t, "ip", "netns", "exec", side.router, "iptables", "-A", "FORWARD", "-p", "udp", "-s", other, "-j", "DROP")
		}
		// Like a home router, drop what comes unasked to the wan side.
		// Dropped before conntrack confirms it, such a packet (the
		// peer's first check, when it comes before ours leaves) leaves no
		// entry that would make our own outgoing check take another port.
		natRun(t, "ip", "netns", "exec", side.router, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP")
	}
	return n
}

// startCoturn runs an unmodified coturn in pub, on both public addresses,
// STUN and TURN (long-term credentials) on natTURNPort, relaying on the
// first, and stops it when the test ends.
func (n *natNet) startCoturn(t *testing.T) {
	t.Helper()
	_ = n.startCoturnAt(t, []string{natPubAddr, natPubAddr2}, natTURNPort, 49152)
}

// startCoturnAt runs a coturn listening on addrs at port, relaying on the
// first address from ports minPort to minPort+200, and returns a function
// that kills it (SIGKILL) before the test ends.
func (n *natNet) startCoturnAt(t *testing.T, addrs []string, port, minPort int) (kill func()) {
	t.Helper()
	dir := t.TempDir()
	conf := []string{}
	for _, a := range addrs {
		conf = append(conf, "listening-ip="+a)
	}
	conf = append(conf,
		"relay-ip="+addrs[0],
		fmt.Sprintf("listening-port=%d", port),
		fmt.Sprintf("min-port=%d", minPort), fmt.Sprintf("max-port=%d", minPort+200),
		"fingerprint", "lt-cred-mech",
		fmt.Sprintf("user=%s:%s", natTURNUser, natTURNPass),
		"realm=ferry.test",
		"no-tls", "no-dtls", "no-cli", "no-multicast-peers",
		"pidfile="+filepath.Join(dir, "turnserver.pid"),
		"log-file="+filepath.Join(dir, "turnserver.log"),
		"simple-log", "verbose",
		"userdb="+filepath.Join(dir, "turndb"),
	)
	path := filepath.Join(dir, "turnserver.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return n.daemon(t, "coturn", filepath.Join(dir, "turnserver.log"), "turnserver", "-c", path)
}

// startBootstrap runs `ferry dht bootstrap` (a signaling relay too) in pub
// and returns its multiaddr.
func (n *natNet) startBootstrap(t *testing.T, bin string) string {
	t.Helper()
	home := t.TempDir()
	c := exec.Command("ip", "netns", "exec", n.pub, filepath.Join(bin, "ferry"), "dht", "bootstrap",
		"--listen", fmt.Sprintf("/ip4/%s/tcp/%d", natPubAddr, natDHTPort), "--fresh-key")
	c.Env = append(os.Environ(), "FERRY_HOME="+home)
	out := &syncBuffer{}
	c.Stdout, c.Stderr = out, out
	n.start(t, "dht bootstrap", c, out)
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "/ip4/"+natPubAddr+"/") && strings.Contains(line, "/p2p/") {
				return strings.TrimSpace(line)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dht bootstrap printed no address within 20s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// daemon runs a server in pub until the test ends, or until the returned
// function kills it; its log file is shown when the test fails.
func (n *natNet) daemon(t *testing.T, what, logFile string, name string, args ...string) (kill func()) {
	t.Helper()
	c := exec.Command("ip", append([]string{"netns", "exec", n.pub, name}, args...)...)
	out := &syncBuffer{}
	c.Stdout, c.Stderr = out, out
	n.start(t, what, c, out)
	if logFile != "" {
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(logFile)
				t.Logf("%s log:\n%s", what, b)
			}
		})
	}
	return func() { _ = c.Process.Kill() }
}

// start starts c and stops it (SIGTERM, then SIGKILL) when the test ends.
func (n *natNet) start(t *testing.T, what string, c *exec.Cmd, out *syncBuffer) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", what, out.String())
		}
	})
}

// natConfig writes the config of a peer behind NAT: DHT discovery and
// signaling through bootstrap, tcp first and ice 300 ms later with the
// topology's STUN and TURN servers, and extraTURN after the first.
func (n *natNet) natConfig(t *testing.T, extraTURN ...string) string {
	t.Helper()
	turn := fmt.Sprintf("%q", fmt.Sprintf("turn:%s:%d?transport=udp", natPubAddr, natTURNPort))
	for _, u := range extraTURN {
		turn += fmt.Sprintf(", %q", u)
	}
	conf := fmt.Sprintf(`plugins:
  instances:
    - name: dht
      plugin: dht
      config:
        listen: ["/ip4/0.0.0.0/tcp/0"]
        bootstrap: []
        # Behind NAT: a DHT client, reached for signaling through the
        # bootstrap node's relay only.
        client_mode: true
        publish_direct: false
    - name: tcp
      plugin: tcp
      priority: 10
      config:
        listen: ["0.0.0.0:0"]
    - name: ice
      plugin: ice
      priority: 20
      config:
        stun_servers: ["stun:%[1]s:%[2]d", "stun:%[3]s:%[2]d"]
        turn_servers: [%[6]s]
        turn_username: %[4]s
        turn_password: %[5]s
        network_types: [udp4]
        candidate_types: [host, srflx, relay]
        gather_timeout: 3s
    - name: ftv2a
      plugin: ftv2a
      config: {}
    - name: jsonchunk
      plugin: jsonchunk
      config: {}
discovery: [dht]
signaling: [dht]
transports: [tcp, ice]
protocols: [jsonchunk, ftv2a]
`, natPubAddr, natTURNPort, natPubAddr2, natTURNUser, natTURNPass, turn)
	p := filepath.Join(t.TempDir(), "nat.yaml")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// peer returns a ferry peer that runs in host namespace ns with the NAT
// config and bootstrap node boot.
func (n *natNet) peer(t *testing.T, bin, ns, boot string, extraEnv ...string) *testPeer {
	t.Helper()
	p := newNode(t, bin, append([]string{"FERRY_CONFIG=" + n.natConfig(t), "FERRY_DHT_BOOTSTRAP=" + boot}, extraEnv...)...)
	p.netns = ns
	return p
}
