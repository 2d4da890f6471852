package account

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Book is what a running device knows of accounts: which account certified
// each device it has heard of, and the newest revocation list of each
// account, kept in the store so that a revocation outlives a restart. It
// is safe for concurrent use.
type Book struct {
	store *Store // nil: nothing persisted
	now   func() time.Time

	mu      sync.Mutex
	certs   map[sdk.PeerID]*Certificate // verified, shown by the device itself
	vouched map[sdk.PeerID]*Certificate // verified, from account records
	lists   map[ID]*Revocations         // verified, newest by account
	refused map[[32]byte]bool           // digests of credentials refused, to log each once
}

// NewBook returns a book that keeps revocation lists in store (nil keeps
// nothing), loaded with the lists already there: this device's own
// account's and those seen of others.
func NewBook(store *Store) *Book {
	b := &Book{store: store, now: time.Now, certs: map[sdk.PeerID]*Certificate{}, vouched: map[sdk.PeerID]*Certificate{}, lists: map[ID]*Revocations{}, refused: map[[32]byte]bool{}}
	if store != nil {
		if r, err := store.Revocations(); err == nil && r != nil {
			b.lists[r.Account] = r
		}
		for _, r := range store.AllKnown() {
			if old := b.lists[r.Account]; r.Newer(old) {
				b.lists[r.Account] = r
			}
		}
	}
	return b
}

// SetClock replaces time.Now, for tests.
func (b *Book) SetClock(now func() time.Time) { b.now = now }

// Observe reads the credentials device presented (sdk.PeerInfo.Account).
// Valid credentials are recorded, and their revocation list replaces an
// older one of the account. It returns the device's certificate, or an
// error when they do not parse or verify; fresh is false when the same
// bad credentials were refused before, so the caller logs each once.
func (b *Book) Observe(device sdk.PeerID, raw []byte) (cert *Certificate, fresh bool, err error) {
	c, err := ParseCredentials(raw)
	if err == nil {
		err = c.Verify(device, b.now())
	}
	if err != nil {
		d := sha256.Sum256(append(device[:], raw...))
		b.mu.Lock()
		fresh = !b.refused[d]
		b.refused[d] = true
		if len(b.refused) > 4096 { // bound the memory a flood can take
			clear(b.refused)
		}
		b.mu.Unlock()
		return nil, fresh, err
	}
	b.mu.Lock()
	old := b.certs[device]
	b.certs[device] = c.Cert
	b.mu.Unlock()
	if c.Revocations != nil {
		b.Learn(c.Revocations)
	}
	fresh = old == nil || !bytes.Equal(old.Sig, c.Cert.Sig)
	return c.Cert, fresh, nil
}

// Learn records a verified-by-the-caller or unverified list: it is
// verified here against the account it names, and kept if newer than the
// one known. It reports whether it replaced the known one.
func (b *Book) Learn(r *Revocations) bool {
	if r == nil || r.Verify(r.Account) != nil {
		return false
	}
	b.mu.Lock()
	old := b.lists[r.Account]
	if !r.Newer(old) {
		b.mu.Unlock()
		return false
	}
	b.lists[r.Account] = r
	b.mu.Unlock()
	if b.store != nil {
		_, _ = b.store.SaveKnown(r)
	}
	return true
}

// LearnRecord records an account record checked by [OpenRecord]: its
// certificates vouch for its devices even before they show their own,
// and its list replaces an older one.
func (b *Book) LearnRecord(r *Record) {
	b.Learn(r.Revocations)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range r.Devices {
		b.vouched[c.Device] = c
	}
}

// Forget drops what is known of device's account (it announced none).
func (b *Book) Forget(device sdk.PeerID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.certs, device)
}

// Check returns an error wrapping [ErrRevoked] when a known revocation list
// names device, or [ErrExpired] when its known certificate has expired;
// nil otherwise (a device of no account passes).
func (b *Book) Check(device sdk.PeerID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.certs[device]
	if c == nil {
		c = b.vouched[device]
	}
	if c != nil {
		if err := b.lists[c.Account].Check(device); err != nil {
			return err
		}
		if now := b.now(); !now.Before(c.Expires) {
			return fmt.Errorf("certificate of device %s (%s) in %s: %w on %s", device.Short(), c.Name, c.Account.Short(), ErrExpired, c.Expires.UTC().Format(time.RFC3339))
		}
	}
	for _, r := range b.lists {
		if err := r.Check(device); err != nil {
			return err
		}
	}
	return nil
}

// Account returns the certificate device presented, if it presented valid
// credentials.
func (b *Book) Account(device sdk.PeerID) (*Certificate, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.certs[device]
	if !ok {
		c, ok = b.vouched[device]
	}
	return c, ok
}

// Devices returns the devices known to belong to acct that are neither
// revoked nor expired, sorted.
func (b *Book) Devices(acct ID) []sdk.PeerID {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var out []sdk.PeerID
	for _, m := range []map[sdk.PeerID]*Certificate{b.certs, b.vouched} {
		for d, c := range m {
			if c.Account == acct && now.Before(c.Expires) && !b.lists[acct].Revoked(d) && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(x, y sdk.PeerID) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Revocations returns the newest known list of acct, or nil.
func (b *Book) Revocations(acct ID) *Revocations {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lists[acct]
}
