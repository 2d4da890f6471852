package account

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Names inside the Ferry home.
const (
	// Dir is the folder of the Ferry home that holds account state.
	Dir = "account"
	// KeyFile holds the account's private key (PEM PKCS#8, mode 0600),
	// only on the devices whose user asked for it: the device that ran
	// "ferry account create".
	KeyFile = "account.key"
	// CertFile holds this device's certificate.
	CertFile = "device.cert"
	// RevocationsFile holds the newest revocation list of this device's
	// account.
	RevocationsFile = "revocations"
	// issuedDir holds, on a key holder, every certificate it issued.
	issuedDir = "issued"
	// knownDir holds the newest revocation list seen of other accounts.
	knownDir = "known"
)

// Store is the account state kept in a Ferry home, under [Dir]. Files are
// written whole (a temporary file renamed into place) with mode 0600, the
// folder with 0700.
type Store struct{ dir string }

// OpenStore returns the store of the Ferry home home. Nothing is created
// until something is saved.
func OpenStore(home string) *Store { return &Store{dir: filepath.Join(home, Dir)} }

// Path returns the path of name inside the store.
func (s *Store) Path(name string) string { return filepath.Join(s.dir, name) }

// Create makes a new account whose key is kept in this store, and
// certifies device (this device) under name. It refuses to replace an
// account key or a certificate already there.
func (s *Store) Create(device sdk.PeerID, name string, now time.Time) (*Certificate, error) {
	for _, f := range []string{KeyFile, CertFile} {
		if _, err := os.Stat(s.Path(f)); err == nil {
			return nil, fmt.Errorf("create account: %s exists: this device already belongs to an account (remove %s to leave it)", s.Path(f), s.dir)
		}
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	cert, err := Issue(key, device, name, now, DefaultValidity)
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	if err := s.write(KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	if err := s.SaveIssued(cert); err != nil {
		return nil, err
	}
	if err := s.SaveCertificate(cert); err != nil {
		return nil, err
	}
	return cert, nil
}

// Key returns the account key kept here: an error wrapping [ErrNoAccount]
// when this device does not hold it, [ErrInsecureKeyFile] when group or
// others may read or write it.
func (s *Store) Key() (ed25519.PrivateKey, error) {
	path := s.Path(KeyFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w key on this device (%s): run this on the device that ran \"ferry account create\"", ErrNoAccount, path)
	}
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("account key: %s has mode %04o; make it private with \"chmod 600 %s\": %w", path, perm, path, ErrInsecureKeyFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("account key: %s: no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("account key: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("account key: %s holds a %T, not an ed25519 key", path, k)
	}
	return key, nil
}

// HasKey reports whether this store holds the account key.
func (s *Store) HasKey() bool {
	_, err := os.Stat(s.Path(KeyFile))
	return err == nil
}

// Certificate returns this device's certificate; an error wrapping
// [ErrNoAccount] when it has none.
func (s *Store) Certificate() (*Certificate, error) {
	b, err := os.ReadFile(s.Path(CertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: this device belongs to no account (ferry account create, or ferry account join CODE)", ErrNoAccount)
	}
	if err != nil {
		return nil, fmt.Errorf("device certificate: %w", err)
	}
	c, err := ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(CertFile), err)
	}
	return c, nil
}

// SaveCertificate stores c as this device's certificate.
func (s *Store) SaveCertificate(c *Certificate) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	return s.write(CertFile, b)
}

// Revocations returns the newest revocation list of this device's account
// kept here; nil, nil when there is none.
func (s *Store) Revocations() (*Revocations, error) {
	return s.readRevocations(RevocationsFile)
}

// SaveRevocations stores r as this account's list if it is newer than the
// one kept; it reports whether it did.
func (s *Store) SaveRevocations(r *Revocations) (bool, error) {
	return s.saveRevocations(RevocationsFile, r)
}

// Known returns the newest revocation list kept of another account; nil,
// nil when there is none.
func (s *Store) Known(acct ID) (*Revocations, error) {
	return s.readRevocations(filepath.Join(knownDir, sdk.PeerID(acct).String()))
}

// SaveKnown stores r as the newest list of its account if it is newer
// than the one kept; it reports whether it did.
func (s *Store) SaveKnown(r *Revocations) (bool, error) {
	return s.saveRevocations(filepath.Join(knownDir, sdk.PeerID(r.Account).String()), r)
}

// AllKnown returns every revocation list kept of other accounts; a file
// that does not parse is skipped.
func (s *Store) AllKnown() []*Revocations {
	ents, _ := os.ReadDir(s.Path(knownDir))
	var out []*Revocations
	for _, e := range ents {
		if r, err := s.readRevocations(filepath.Join(knownDir, e.Name())); err == nil && r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (s *Store) readRevocations(name string) (*Revocations, error) {
	b, err := os.ReadFile(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	r, err := ParseRevocations(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(name), err)
	}
	if err := r.Verify(r.Account); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(name), err)
	}
	return r, nil
}

func (s *Store) saveRevocations(name string, r *Revocations) (bool, error) {
	old, err := s.readRevocations(name)
	if err != nil {
		old = nil // a damaged file is replaced by a verified list
	}
	if old != nil && old.Account == r.Account && !r.Newer(old) {
		return false, nil
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return false, err
	}
	return true, s.write(name, b)
}

// SaveIssued records a certificate this key holder issued.
func (s *Store) SaveIssued(c *Certificate) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	return s.write(filepath.Join(issuedDir, c.Device.String()+".cert"), b)
}

// Issued returns the certificates this key holder issued, the newest of
// each device, sorted by issue time.
func (s *Store) Issued() ([]*Certificate, error) {
	ents, err := os.ReadDir(s.Path(issuedDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issued certificates: %w", err)
	}
	var out []*Certificate
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".cert") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Path(issuedDir), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("issued certificates: %w", err)
		}
		c, err := ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("issued certificates: %s: %w", e.Name(), err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Certificate) int { return a.Issued.Compare(b.Issued) })
	return out, nil
}

// Credentials returns this device's certificate with its account's newest
// revocation list; an error wrapping [ErrNoAccount] without a certificate.
func (s *Store) Credentials() (*Credentials, error) {
	c, err := s.Certificate()
	if err != nil {
		return nil, err
	}
	r, err := s.Revocations()
	if err != nil {
		return nil, err
	}
	if r != nil && r.Account != c.Account {
		r = nil
	}
	return &Credentials{Cert: c, Revocations: r}, nil
}

// write replaces name with data: a temporary file, synced, renamed.
func (s *Store) write(name string, data []byte) error {
	path := s.Path(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("account store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("account store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("account store: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("account store: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("account store: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("account store: %w", err)
	}
	return nil
}
