package dht

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/ferry-p2p/ferry/sdk"
)

// AccountNamespace is the DHT key namespace of account records: the
// record of an account lives under "/ferry-account/<its key in the
// printable peer-ID form>" (see [AccountKey]). Its value is an
// sdk.AccountRecord, whose body this plugin carries without reading it.
const AccountNamespace = "ferry-account"

// AccountKey returns the DHT key of the account record of the ed25519
// public key acct.
func AccountKey(acct [ed25519.PublicKeySize]byte) string {
	return "/" + AccountNamespace + "/" + sdk.PeerID(acct).String()
}

// AccountValidator is the go-libp2p-record Validator of the account
// namespace: a record must parse, be filed under its account's key, be
// signed by that key and not be expired; the highest Seq wins.
type AccountValidator struct {
	// Now, when not nil, replaces time.Now (for tests).
	Now func() time.Time
}

// Validate checks an account record; each refusal wraps one of the
// ErrRecord errors, so the logging validator names the reason.
func (v AccountValidator) Validate(key string, value []byte) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if len(value) > sdk.MaxAccountRecordSize {
		return fmt.Errorf("%w: account record of %d bytes", ErrRecordTooLarge, len(value))
	}
	r, err := sdk.ParseAccountRecord(value)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	if want := AccountKey(r.Account); key != want {
		return fmt.Errorf("%w: the account record of %s is under %.80q", ErrRecordWrongKey, sdk.PeerID(r.Account).Short(), key)
	}
	if err := r.Verify(now); err != nil {
		if strings.Contains(err.Error(), "forged") {
			return fmt.Errorf("%w: account %s: %w", ErrRecordForged, sdk.PeerID(r.Account).Short(), err)
		}
		return fmt.Errorf("%w: account %s: %w", ErrRecordExpired, sdk.PeerID(r.Account).Short(), err)
	}
	return nil
}

// Select returns the index of the freshest record: the highest Seq, then
// the latest expiry; values that do not parse are passed over.
func (v AccountValidator) Select(key string, values [][]byte) (int, error) {
	best := -1
	var bestRec *sdk.AccountRecord
	for i, b := range values {
		r, err := sdk.ParseAccountRecord(b)
		if err != nil {
			continue
		}
		if best < 0 || r.Seq > bestRec.Seq || (r.Seq == bestRec.Seq && r.Expires.After(bestRec.Expires)) {
			best, bestRec = i, r
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("%w: none of %d values under %.80q parses", ErrRecordMalformed, len(values), key)
	}
	return best, nil
}

// validators returns the namespaced validator of a node: device records
// and account records, each refusal logged.
func validators(r refuser) record.NamespacedValidator {
	return record.NamespacedValidator{
		Namespace:        loggingValidator{r: r},
		AccountNamespace: loggingAccountValidator{r: r},
	}
}

// loggingAccountValidator is AccountValidator with one log line per
// refused record.
type loggingAccountValidator struct {
	v AccountValidator
	r refuser
}

func (l loggingAccountValidator) Validate(key string, value []byte) error {
	err := l.v.Validate(key, value)
	if err != nil {
		l.r.refuse("account record", "key "+shortKey(key), recordReason(err), err)
	}
	return err
}

func (l loggingAccountValidator) Select(key string, values [][]byte) (int, error) {
	return l.v.Select(key, values)
}

var _ sdk.AccountDirectory = (*Plugin)(nil)

// PublishAccount keeps an account record published: it is put into the
// DHT now and with every republish of this device's record, until a newer
// one replaces it.
func (p *Plugin) PublishAccount(ctx context.Context, raw []byte) error {
	if err := (AccountValidator{}).Validate(accountKeyOf(raw), raw); err != nil {
		return fmt.Errorf("dht: publish account: %w", err)
	}
	s, err := p.session("publish account")
	if err != nil {
		return err
	}
	s.recMu.Lock()
	s.account = append([]byte(nil), raw...)
	s.recMu.Unlock()
	s.kickPublish()
	return nil
}

func accountKeyOf(raw []byte) string {
	r, err := sdk.ParseAccountRecord(raw)
	if err != nil {
		return ""
	}
	return AccountKey(r.Account)
}

// publishAccount puts the account record into the DHT, if one is set.
func (s *session) publishAccount(ctx context.Context) {
	s.recMu.Lock()
	raw := s.account
	s.recMu.Unlock()
	if raw == nil {
		return
	}
	key := accountKeyOf(raw)
	if err := s.n.kad.PutValue(ctx, key, raw); err != nil {
		if s.ctx.Err() == nil {
			s.p.logLimited("publish account", "dht: publishing the account record failed; trying again at the next republish", "err", err)
		}
		return
	}
	s.p.log.Debug("dht: published the account record", "key", key)
}

// LookupAccount returns the freshest valid record of the account, or an
// error wrapping sdk.ErrNotFound.
func (p *Plugin) LookupAccount(ctx context.Context, acct [ed25519.PublicKeySize]byte) ([]byte, error) {
	s, err := p.session("lookup account")
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.lookupTimeout)
	defer cancel()
	if err := s.n.ready(lctx); err != nil {
		return nil, fmt.Errorf("dht: lookup account: %w", err)
	}
	key := AccountKey(acct)
	val, err := s.n.kad.GetValue(lctx, key, kaddht.Quorum(lookupQuorum))
	if err == nil {
		if err = (AccountValidator{}).Validate(key, val); err == nil {
			return val, nil
		}
	}
	if errors.Is(err, routing.ErrNotFound) || errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("dht: account %s not found: %w", sdk.PeerID(acct).Short(), sdk.ErrNotFound)
	}
	return nil, fmt.Errorf("dht: lookup account %s: %w: %w", sdk.PeerID(acct).Short(), sdk.ErrNotFound, err)
}
