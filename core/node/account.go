package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/sdk"
)

// CodeRevoked is the code of an error event about a device its account
// revoked (or whose account certificate expired): refused as a receiver
// and as a sender.
const CodeRevoked = "revoked"

// accounts is what the node knows of accounts: its own store and the book
// of what peers showed.
type accounts struct {
	store *account.Store // nil without a Ferry home
	book  *account.Book

	mu        sync.Mutex
	auto      map[account.ID]bool // accounts whose devices' offers are accepted at once
	own       account.ID          // this device's account; zero for none
	announced uint64              // the version of its revocation list last announced
	started   atomic.Bool         // start is done: the discovery list is complete
}

func newAccounts(home string) *accounts {
	a := &accounts{auto: map[account.ID]bool{}}
	if home != "" {
		a.store = account.OpenStore(home)
	}
	a.book = account.NewBook(a.store)
	return a
}

// credentials returns what this device announces of its account: its
// certificate and the newest revocation list of its account it knows
// (from its store, or learnt from another device of the account); nil
// when it belongs to no account.
func (n *Node) credentials() []byte {
	if n.acct.store == nil {
		return nil
	}
	c, err := n.acct.store.Credentials()
	if err != nil {
		if !errors.Is(err, account.ErrNoAccount) {
			n.log.Warn("not announcing this device's account", "err", err)
		}
		return nil
	}
	if r := n.acct.book.Revocations(c.Cert.Account); r.Newer(c.Revocations) {
		c.Revocations = r
	}
	b, err := c.MarshalBinary()
	if err != nil || len(b) > sdk.MaxAccountLen {
		n.log.Warn("not announcing this device's account", "err", err, "bytes", len(b))
		return nil
	}
	n.acct.mu.Lock()
	n.acct.own = c.Cert.Account
	if c.Revocations != nil {
		n.acct.announced = c.Revocations.Version
	}
	n.acct.mu.Unlock()
	return b
}

// spreadRevocations announces this device again when it has learnt a
// newer revocation list of its own account than the one it announced, so
// that a revocation spreads through every device of the account, not only
// from the key holder.
func (n *Node) spreadRevocations(acct account.ID) {
	if !n.acct.started.Load() {
		return // start announces Self, with the newest list, itself
	}
	r := n.acct.book.Revocations(acct)
	n.acct.mu.Lock()
	newer := acct == n.acct.own && r != nil && r.Version > n.acct.announced
	if newer {
		n.acct.announced = r.Version // once per version
	}
	n.acct.mu.Unlock()
	if !newer || n.ctx.Err() != nil {
		return
	}
	n.log.Info("announcing the newer revocation list of this device's account", "account", acct, "version", r.Version)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		self := n.Self()
		for i, d := range n.discovery {
			ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
			if err := d.Announce(ctx, self); err != nil && n.ctx.Err() == nil {
				n.log.Warn("could not announce the newer revocation list", "via", n.discoveryNames[i], "err", err)
			}
			cancel()
		}
	}()
}

// Accounts returns the book of what this node knows of accounts.
func (n *Node) Accounts() *account.Book { return n.acct.book }

// AccountOf returns the account certificate peer id showed, if valid.
func (n *Node) AccountOf(id sdk.PeerID) (*account.Certificate, bool) {
	return n.acct.book.Account(id)
}

// AutoAcceptAccounts makes offers from every device of these accounts
// (valid, unrevoked certificates) accepted without asking, as
// transfer.auto_accept does for single devices; Start already adds the
// accounts transfer.auto_accept names. Call it before Serve.
func (n *Node) AutoAcceptAccounts(ids ...account.ID) {
	n.acct.mu.Lock()
	defer n.acct.mu.Unlock()
	for _, id := range ids {
		n.acct.auto[id] = true
	}
}

// autoAccepted reports whether peer is a device of an auto-accepted
// account.
func (n *Node) autoAccepted(peer sdk.PeerID) bool {
	c, ok := n.acct.book.Account(peer)
	if !ok {
		return false
	}
	n.acct.mu.Lock()
	defer n.acct.mu.Unlock()
	return n.acct.auto[c.Account]
}

// admit checks the account credentials a discovery event carries: valid
// ones are recorded in the book (their revocation list with them); a peer
// showing forged, borrowed or expired ones is kept as a device of no
// account, and the refusal is logged once per distinct credentials.
func (n *Node) admit(ev *sdk.PeerEvent) {
	p := &ev.Peer
	if ev.Kind == sdk.PeerLeft {
		return
	}
	if len(p.Account) == 0 {
		n.acct.book.Forget(p.ID)
		return
	}
	cert, fresh, err := n.acct.book.Observe(p.ID, p.Account)
	if err != nil {
		if fresh {
			n.log.Warn("refused the account credentials a peer announced; treating it as a device of no account", "peer", p.ID, "name", p.Name, "via", p.Source, "err", err)
		}
		p.Account = nil
		n.acct.book.Forget(p.ID)
		return
	}
	if fresh {
		n.log.Debug("peer belongs to an account", "peer", p.ID, "account", cert.Account, "device_name", cert.Name)
	}
	n.spreadRevocations(cert.Account)
}

// CheckAccount returns an error wrapping account.ErrRevoked (or
// account.ErrExpired) when this node refuses peer: a known revocation list
// names it, or its account certificate expired.
func (n *Node) CheckAccount(peer sdk.PeerID) error { return n.checkAccount(peer) }

// checkAccount refuses a device that a known revocation list names or
// whose account certificate expired.
func (n *Node) checkAccount(peer sdk.PeerID) error {
	if err := n.acct.book.Check(peer); err != nil {
		return &RevokedError{Peer: peer, Err: err}
	}
	return nil
}

// RevokedError is returned when a transfer to or from a device is refused
// because its account revoked it, or its account certificate expired.
type RevokedError struct {
	Peer sdk.PeerID
	Err  error
}

func (e *RevokedError) Error() string {
	return fmt.Sprintf("refusing device %s: %v", e.Peer, e.Err)
}

func (e *RevokedError) Unwrap() error { return e.Err }

// AccountDevices returns the devices of acct in the peer table whose
// certificates are valid and not revoked, sorted by ID.
func (n *Node) AccountDevices(acct account.ID) []sdk.PeerInfo {
	var out []sdk.PeerInfo
	for _, d := range n.acct.book.Devices(acct) {
		if p, ok, _ := n.peers.get(d); ok {
			out = append(out, p)
		}
	}
	return out
}

// ResolveAccount waits up to timeout for devices of acct to be seen and
// returns them: once one is seen it waits settle more (at most until the
// timeout) for the others, since an account's devices announce
// independently. None is an error wrapping sdk.ErrOffline.
func (n *Node) ResolveAccount(ctx context.Context, acct account.ID, timeout, settle time.Duration) ([]sdk.PeerInfo, error) {
	// The DHT (a directory of account records) names devices that are
	// not on this network; look them up meanwhile.
	fctx, stop := context.WithTimeout(ctx, timeout)
	var finders sync.WaitGroup
	finders.Go(func() { n.findAccount(fctx, acct, timeout, &finders) })
	defer finders.Wait()
	defer stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var settled <-chan time.Time
	for {
		_, _, changed := n.peers.get(sdk.PeerID{})
		devs := n.AccountDevices(acct)
		if len(devs) > 0 && settled == nil {
			t := time.NewTimer(settle)
			defer t.Stop()
			settled = t.C
		}
		select {
		case <-changed:
			continue
		case <-settled:
		case <-deadline.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if devs = n.AccountDevices(acct); len(devs) == 0 {
			return nil, fmt.Errorf("no device of account %s found within %s: %w", acct, timeout, sdk.ErrOffline)
		}
		slices.SortFunc(devs, func(a, b sdk.PeerInfo) int { return slices.Compare(a.ID[:], b.ID[:]) })
		return devs, nil
	}
}

// PeersChanged returns a channel closed at the next change of the peer
// table.
func (n *Node) PeersChanged() <-chan struct{} {
	_, _, ch := n.peers.get(sdk.PeerID{})
	return ch
}

// findAccount looks the account record of acct up in every discovery
// plugin that keeps account records; the first valid one is recorded in
// the book, and each device it names is looked up (on finders).
func (n *Node) findAccount(ctx context.Context, acct account.ID, timeout time.Duration, finders *sync.WaitGroup) {
	for i, d := range n.discovery {
		dir, ok := d.(sdk.AccountDirectory)
		if !ok {
			continue
		}
		raw, err := dir.LookupAccount(ctx, acct)
		if err != nil {
			n.log.Debug("account record not found", "via", n.discoveryNames[i], "account", acct, "err", err)
			continue
		}
		r, err := account.OpenRecord(raw, acct, time.Now())
		if err != nil {
			n.log.Warn("refused an account record", "via", n.discoveryNames[i], "account", acct, "err", err)
			continue
		}
		n.acct.book.LearnRecord(r)
		n.log.Debug("found the account record", "via", n.discoveryNames[i], "account", acct, "devices", len(r.Devices), "seq", r.Seq)
		for _, c := range r.Devices {
			if c.Device == n.id.ID {
				continue
			}
			finders.Go(func() { _, _ = n.Find(ctx, c.Device, timeout) })
		}
		return
	}
}

// publishAccount runs on the device holding the account key: it signs
// the account record (the devices it certified, its revocation list) and
// hands it to every discovery plugin that keeps account records, signing
// it anew every RecordTTL/3 until the node closes.
func (n *Node) publishAccount() {
	defer n.wg.Done()
	st := n.acct.store
	if st == nil || !st.HasKey() {
		return
	}
	for {
		if err := n.signAndPublishAccount(); err != nil {
			n.log.Warn("could not publish the account record", "err", err)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(account.RecordTTL / 3):
		}
	}
}

func (n *Node) signAndPublishAccount() error {
	st := n.acct.store
	key, err := st.Key()
	if err != nil {
		return err
	}
	certs, err := st.Issued()
	if err != nil {
		return err
	}
	rev, err := st.Revocations()
	if err != nil {
		return err
	}
	now := time.Now()
	raw, err := account.SignRecord(key, certs, rev, uint64(now.UnixMilli()), now)
	if err != nil {
		return err
	}
	for i, d := range n.discovery {
		dir, ok := d.(sdk.AccountDirectory)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
		err := dir.PublishAccount(ctx, raw)
		cancel()
		switch {
		case errors.Is(err, sdk.ErrUnsupported):
		case err != nil:
			n.log.Warn("could not publish the account record", "via", n.discoveryNames[i], "err", err)
		default:
			n.log.Debug("published the account record", "via", n.discoveryNames[i])
		}
	}
	return nil
}
