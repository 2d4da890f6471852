package plugins

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

const tcpPkg = "github.com/ferry-p2p/ferry/plugins/tcp/cmd/tcp"

// pluginDir copies the real tcp plugin binary into a fresh 0700 folder and
// returns the folder and the binary's hash.
func pluginDir(t *testing.T) (string, string) {
	t.Helper()
	src := plugintest.PluginBinary(t, "tcp", tcpPkg)
	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tcp"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := config.HashFile(filepath.Join(dir, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, sum
}

// newCatalog writes a config using the plugin folder and makes a catalog.
func newCatalog(t *testing.T, dir, pin string) *Catalog {
	t.Helper()
	home := t.TempDir()
	cfgFile := filepath.Join(home, "ferry.yaml")
	yaml := fmt.Sprintf(`plugins:
  dir: %s
  instances:
    - name: tcp
      plugin: tcp
      sha256: %q
      config: {listen: ["127.0.0.1:0"]}
discovery: []
signaling: []
transports: [tcp]
protocols: []
`, dir, pin)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{Home: home, File: cfgFile, Env: []string{}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := New(cfg, Options{Identity: id, LogOutput: io.Discard, Backoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close(context.Background()) })
	return cat
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRestartAfterSIGKILL kills the real plugin process and shows the
// supervisor restarts and re-configures it, and the next call succeeds.
func TestRestartAfterSIGKILL(t *testing.T) {
	dir, sum := pluginDir(t)
	cat := newCatalog(t, dir, sum)
	ctx := testCtx(t)
	inst, err := cat.Instance("tcp")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := inst.Transport(ctx)
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	peer := plugintest.RandomPeerID(t)
	if _, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Responder}); err != nil {
		t.Fatalf("prepare before kill: %v", err)
	}
	pid := inst.Status().PID
	if pid == 0 {
		t.Fatal("running external plugin reports no pid")
	}
	changed := inst.Changed()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	// Users are told: the instance leaves the running state.
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no state change after the plugin was killed")
	}
	if st := inst.Status(); st.State == StateRunning && st.PID == pid {
		t.Fatalf("after the kill the instance still reports pid %d running", pid)
	}
	// The next call waits for the restart and succeeds on the new process.
	resp, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Responder})
	for errors.Is(err, sdk.ErrPluginExited) && ctx.Err() == nil {
		// The call raced the exit notice; the supervisor restarts it.
		resp, err = tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Responder})
	}
	if err != nil {
		t.Fatalf("prepare after kill: %v", err)
	}
	if resp.Local.Transport != "tcp" || len(resp.Local.Data) == 0 {
		t.Fatalf("prepare after restart gave %+v", resp.Local)
	}
	st := inst.Status()
	if st.State != StateRunning || st.Restarts != 1 || st.PID == pid || st.PID == 0 {
		t.Fatalf("after restart: state %s restarts %d pid %d (old %d)", st.State, st.Restarts, st.PID, pid)
	}
	// It was configured again: it listens, so a full connect works.
	other := plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, inProcessTCP(t)), []byte(`{"listen":["127.0.0.1:0"]}`))
	sa, sb, err := plugintest.ConnectPair(ctx, other, tr, plugintest.RandomPeerID(t), plugintest.RandomPeerID(t))
	if err != nil {
		t.Fatalf("connect through restarted plugin: %v", err)
	}
	_ = sa.Close()
	_ = sb.Close()
}

func TestPinMismatchRefused(t *testing.T) {
	dir, sum := pluginDir(t)
	wrong := strings.Repeat("ab", 32)
	cat := newCatalog(t, dir, wrong)
	inst, _ := cat.Instance("tcp")
	err := inst.Start(testCtx(t))
	var pm *PinMismatchError
	if !errors.As(err, &pm) {
		t.Fatalf("start with wrong pin: %v, want PinMismatchError", err)
	}
	msg := err.Error()
	for _, want := range []string{filepath.Join(dir, "tcp"), sum, wrong} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	if st := inst.Status(); st.State != StateFailed || st.PID != 0 {
		t.Errorf("after refusal: state %s pid %d", st.State, st.PID)
	}
}

func TestUnsafePluginDirRefused(t *testing.T) {
	dir, sum := pluginDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	cat := newCatalog(t, dir, sum)
	inst, _ := cat.Instance("tcp")
	if err := inst.Start(testCtx(t)); !errors.Is(err, ErrUnsafePluginDir) {
		t.Fatalf("start from world-writable folder: %v, want ErrUnsafePluginDir", err)
	}
}

func TestUnknownInstance(t *testing.T) {
	dir, sum := pluginDir(t)
	cat := newCatalog(t, dir, sum)
	if _, err := cat.Instance("nope"); !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("unknown instance: %v", err)
	}
}

// hostEnv makes the test binary act as a Ferry host that starts the tcp
// plugin, prints its pid and waits to be killed.
const hostEnv = "FERRY_TEST_HOST_PLUGIN"

func TestMain(m *testing.M) {
	if path := os.Getenv(hostEnv); path != "" {
		os.Exit(runHost(path))
	}
	os.Exit(m.Run())
}

func runHost(path string) int {
	sum, err := config.HashFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pp, err := host.Launch(context.Background(), host.LaunchConfig{Name: "tcp", Path: path, SHA256: sum, LogOutput: io.Discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pp.PID())
	select {}
}

// TestNoOrphanWhenHostKilled SIGKILLs a host process and shows its plugin
// is gone within 2 s.
func TestNoOrphanWhenHostKilled(t *testing.T) {
	dir, _ := pluginDir(t)
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), hostEnv+"="+filepath.Join(dir, "tcp"))
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	host.Stderr = os.Stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = host.Process.Kill()
		t.Fatalf("host did not report the plugin pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		_ = host.Process.Kill()
		t.Fatalf("host printed %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running before the host was killed", pid)
	}
	_ = host.Process.Signal(syscall.SIGKILL)
	_ = host.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d still running 2 s after its host was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
