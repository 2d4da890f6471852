package plugintest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
)

// BinDirEnv names a folder of prebuilt plugin binaries (as `make build`
// leaves them in bin/plugins); when unset, PluginBinary builds the binary.
const BinDirEnv = "FERRY_BIN_DIR"

// PluginBinary returns the path of the plugin binary name: from
// $FERRY_BIN_DIR/plugins/name when present, else built from the Go package
// pkg into a temporary folder.
func PluginBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	if dir := os.Getenv(BinDirEnv); dir != "" {
		p := filepath.Join(dir, "plugins", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build plugin %s from %s: %v", name, pkg, err)
	}
	return out
}

// Launch starts the plugin binary at path with its real sha256 pin and
// kills it when the test ends. Plugin logs go to the test log.
func Launch(t testing.TB, path string) *host.Process {
	t.Helper()
	sum, err := hashFile(path)
	if err != nil {
		t.Fatalf("hash %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pp, err := host.Launch(ctx, host.LaunchConfig{
		Name: filepath.Base(path), Path: path, SHA256: sum,
		LogOutput: testWriter{t}, LogLevel: "warn",
	})
	if err != nil {
		t.Fatalf("launch %s: %v", path, err)
	}
	t.Cleanup(pp.Kill)
	return pp
}

// ServeInProcess serves impl behind the real RPC shims in this process and
// kills it when the test ends.
func ServeInProcess(t testing.TB, impl sdk.Plugin) *host.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pp, err := host.ServeInProcess(ctx, impl)
	if err != nil {
		t.Fatalf("serve in process: %v", err)
	}
	t.Cleanup(pp.Kill)
	return pp
}

// ConfiguredTransport returns pp's transport, configured with config (a
// JSON object) for a random self ID; Close errors wrapping sdk.ErrClosed
// are ignored at cleanup.
func ConfiguredTransport(t testing.TB, pp *host.Process, config []byte) sdk.Transport {
	t.Helper()
	tr, err := pp.Transport()
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tr.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: config, Self: RandomPeerID(t), StateDir: t.TempDir()}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tr.Close(ctx); err != nil && !errors.Is(err, sdk.ErrClosed) && !errors.Is(err, sdk.ErrPluginExited) {
			t.Errorf("close transport: %v", err)
		}
	})
	return tr
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytesTrimNL(p))
	return len(p), nil
}

func bytesTrimNL(p []byte) []byte {
	for len(p) > 0 && p[len(p)-1] == '\n' {
		p = p[:len(p)-1]
	}
	return p
}
