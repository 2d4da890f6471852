package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ferry-p2p/ferry/sdk"
)

// KeyFile is the name of the key file inside the identity directory.
const KeyFile = "device.key"

const (
	pemType = "PRIVATE KEY"
	// maxKeyFileSize bounds what Load reads; a PKCS#8 ed25519 key in PEM is
	// about 120 bytes.
	maxKeyFileSize = 64 << 10
)

// ErrInsecureKeyFile is returned when the key file may be read or written by
// group or others.
var ErrInsecureKeyFile = errors.New("key file is accessible by group or others")

// ErrCorruptKeyFile is returned when the key file exists but does not hold a
// PEM-encoded PKCS#8 ed25519 private key.
var ErrCorruptKeyFile = errors.New("key file is corrupt")

// Identity is this device's ed25519 key pair and the peer ID derived from it.
type Identity struct {
	// ID is the device's peer ID: its ed25519 public key.
	ID sdk.PeerID

	key ed25519.PrivateKey
}

// Generate returns a new random identity that is not stored anywhere; it is
// meant for tests.
func Generate() (*Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return fromKey(key)
}

func fromKey(key ed25519.PrivateKey) (*Identity, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("private key has public key of type %T", key.Public())
	}
	id, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		return nil, err
	}
	return &Identity{ID: id, key: key}, nil
}

// PrivateKey returns the device's private key, for use as a
// [crypto.Signer]. The caller must not modify it.
func (id *Identity) PrivateKey() ed25519.PrivateKey { return id.key }

// Sign signs msg with the device's key; anyone holding the peer ID can check
// the signature with ed25519.Verify(id.ID.PublicKey(), msg, sig).
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.key, msg) }

// Load reads the identity stored in dir/device.key. It does not create
// anything: a missing file gives an error wrapping [os.ErrNotExist]. A file
// accessible by group or others gives [ErrInsecureKeyFile], and one that is
// not a PEM PKCS#8 ed25519 key gives [ErrCorruptKeyFile]; both errors name
// the file.
func Load(dir string) (*Identity, error) {
	path := filepath.Join(dir, KeyFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("load identity: %s is not a regular file (mode %v): %w", path, fi.Mode(), ErrCorruptKeyFile)
	}
	// Windows has no Unix permission bits; there the ACLs of the user's
	// profile directory protect the file.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("load identity: %s has mode %04o: group or others may read or write it; "+
			"make it private with \"chmod 600 %s\", or delete it for a new identity if it may have leaked: %w",
			path, perm, path, ErrInsecureKeyFile)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load identity: read %s: %w", path, err)
	}
	id, err := decodeKey(data)
	if err != nil {
		return nil, fmt.Errorf("load identity: %s: %w: %w", path, ErrCorruptKeyFile, err)
	}
	return id, nil
}

// LoadOrCreate returns the identity stored in dir/device.key, creating a new
// key there on first run: the directory with mode 0700 if it is missing, the
// file with mode 0600. An existing file is never overwritten; it is loaded
// as by [Load], with the same errors.
func LoadOrCreate(dir string) (*Identity, error) {
	id, err := Load(dir)
	if !errors.Is(err, os.ErrNotExist) {
		return id, err
	}
	id, err = Generate()
	if err != nil {
		return nil, err
	}
	data, err := encodeKey(id.key)
	if err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	created, err := createExclusive(filepath.Join(dir, KeyFile), data)
	if err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	if !created {
		// Another process created the key since Load looked: use its key.
		return Load(dir)
	}
	return id, nil
}

// createExclusive writes data to a new file at path with mode 0600 and
// reports false if path already exists. Readers never see a partial file:
// the data goes to a temporary file first, which is then hard-linked into
// place (a link, unlike a rename, never replaces an existing file). Where
// hard links are not supported the file is created in place with O_EXCL.
func createExclusive(path string, data []byte) (created bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+KeyFile+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := writeAndSync(tmp, data); err != nil {
		return false, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrExist):
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := writeAndSync(f, data); err != nil {
		// The file is ours and incomplete: remove it so that the next run
		// does not find a corrupt key.
		_ = os.Remove(path)
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func encodeKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

func decodeKey(data []byte) (*Identity, error) {
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFileSize)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("PEM block of type %q, want %q", block.Type, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("holds a %T, want an ed25519 key", parsed)
	}
	return fromKey(key)
}
