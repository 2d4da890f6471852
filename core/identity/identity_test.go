package identity_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-p2p/ferry/core/identity"
)

func keyPath(dir string) string { return filepath.Join(dir, identity.KeyFile) }

// writeKeyFile writes data as the key file of dir with the given mode,
// whatever the umask.
func writeKeyFile(t *testing.T, dir string, data []byte, mode fs.FileMode) {
	t.Helper()
	p := keyPath(dir)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func pemKey(t *testing.T, typ string, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestLoadOrCreate(t *testing.T) {
	tests := []struct {
		name       string
		dir        func(t *testing.T) string
		createsDir bool
	}{
		{"existing empty dir", func(t *testing.T) string { return t.TempDir() }, false},
		{"missing nested dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "b") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			first, err := identity.LoadOrCreate(dir)
			if err != nil {
				t.Fatalf("LoadOrCreate: %v", err)
			}
			if first.ID.IsZero() {
				t.Fatal("created identity has zero ID")
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(keyPath(dir))
				if err != nil {
					t.Fatal(err)
				}
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("key file mode = %04o, want 0600", perm)
				}
				di, err := os.Stat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if perm := di.Mode().Perm(); tt.createsDir && perm&0o077 != 0 {
					t.Errorf("created dir mode = %04o, want 0700", perm)
				}
			}
			again, err := identity.LoadOrCreate(dir)
			if err != nil {
				t.Fatalf("second LoadOrCreate: %v", err)
			}
			loaded, err := identity.Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, got := range []*identity.Identity{again, loaded} {
				if got.ID != first.ID || !got.PrivateKey().Equal(first.PrivateKey()) {
					t.Errorf("reloaded identity %v differs from created %v", got.ID, first.ID)
				}
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := identity.Load(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of empty dir: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(keyPath(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load created a key file (stat err = %v)", err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
	good, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	data := pemKey(t, "PRIVATE KEY", good.PrivateKey())
	tests := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o640, false},
		{0o604, false},
		{0o644, false},
		{0o660, false},
		{0o602, false},
		{0o620, false},
		{0o666, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			for _, load := range []struct {
				name string
				f    func(string) (*identity.Identity, error)
			}{{"Load", identity.Load}, {"LoadOrCreate", identity.LoadOrCreate}} {
				dir := t.TempDir()
				writeKeyFile(t, dir, data, tt.mode)
				id, err := load.f(dir)
				if tt.ok {
					if err != nil {
						t.Fatalf("%s: %v", load.name, err)
					}
					if id.ID != good.ID {
						t.Errorf("%s: ID = %v, want %v", load.name, id.ID, good.ID)
					}
					continue
				}
				if !errors.Is(err, identity.ErrInsecureKeyFile) {
					t.Fatalf("%s: err = %v, want ErrInsecureKeyFile", load.name, err)
				}
				msg := err.Error()
				for _, want := range []string{keyPath(dir), "chmod 600 " + keyPath(dir), formatMode(tt.mode)} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error %q does not contain %q", load.name, msg, want)
					}
				}
				assertUnchanged(t, dir, data)
			}
		})
	}
}

func formatMode(m fs.FileMode) string { return fmt.Sprintf("%04o", m.Perm()) }

func assertUnchanged(t *testing.T, dir string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(keyPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("key file was changed:\n%q\nwant\n%q", got, want)
	}
}

func TestCorrupt(t *testing.T) {
	edKey, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	valid := pemKey(t, "PRIVATE KEY", edKey.PrivateKey())
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a key\n")},
		{"truncated PEM", valid[:len(valid)/2]},
		{"wrong PEM type", pemKey(t, "RSA PRIVATE KEY", edKey.PrivateKey())},
		{"bad DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01}})},
		{"ecdsa key", pemKey(t, "PRIVATE KEY", ecKey)},
		{"raw key bytes", []byte(edKey.PrivateKey())},
		{"huge", bytes.Repeat([]byte("A"), 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, load := range []struct {
				name string
				f    func(string) (*identity.Identity, error)
			}{{"Load", identity.Load}, {"LoadOrCreate", identity.LoadOrCreate}} {
				dir := t.TempDir()
				writeKeyFile(t, dir, tt.data, 0o600)
				_, err := load.f(dir)
				if !errors.Is(err, identity.ErrCorruptKeyFile) {
					t.Fatalf("%s: err = %v, want ErrCorruptKeyFile", load.name, err)
				}
				if !strings.Contains(err.Error(), keyPath(dir)) {
					t.Errorf("%s: error %q does not name the file", load.name, err)
				}
				assertUnchanged(t, dir, tt.data)
			}
		})
	}
}

func TestKeyFileIsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(keyPath(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.LoadOrCreate(dir); err == nil {
		t.Fatal("LoadOrCreate accepted a directory as key file")
	}
}

// TestOpenSSLFormat checks that a key in the format "openssl genpkey
// -algorithm ed25519" writes is accepted.
func TestOpenSSLFormat(t *testing.T) {
	// RFC 8410 section 10.3 example private key.
	const key = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
`
	dir := t.TempDir()
	writeKeyFile(t, dir, []byte(key), 0o600)
	id, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The matching public key, RFC 8410 section 10.1.
	const wantPub = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
	if got := hex.EncodeToString(id.ID.PublicKey()); got != wantPub {
		t.Errorf("public key = %s, want %s", got, wantPub)
	}
}

func TestSign(t *testing.T) {
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("ferry")
	sig := id.Sign(msg)
	if !ed25519.Verify(id.ID.PublicKey(), msg, sig) {
		t.Error("signature does not verify against the peer ID's key")
	}
	if ed25519.Verify(id.ID.PublicKey(), []byte("other"), sig) {
		t.Error("signature verifies for another message")
	}
	other, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == id.ID {
		t.Error("two generated identities share an ID")
	}
}

// TestLoadOrCreateConcurrent checks that processes starting together on first
// run agree on one key and never see a partly written key file.
func TestLoadOrCreateConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	const n = 8
	ids := make([]*identity.Identity, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = identity.LoadOrCreate(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, errs[i])
		}
		if ids[i].ID != ids[0].ID {
			t.Errorf("LoadOrCreate %d: ID %v, want %v", i, ids[i].ID, ids[0].ID)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != identity.KeyFile {
		t.Errorf("dir holds %v, want only %s", entries, identity.KeyFile)
	}
}
