package sdk

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// An account record is what an account publishes about itself in a
// directory such as the DHT: signed by the account's ed25519 key, under a
// key derived from it, with a body the core encodes (the account's device
// certificates and revocation list) and plugins carry opaquely. A plugin
// storing records checks only the envelope, with [ParseAccountRecord] and
// [AccountRecord.Verify]: the signature by the key it is filed under, the
// expiry; newer (higher Seq) replaces older.
//
// Encoding: "FAR" and version 1 (4 bytes), the account key (32), Seq (8),
// the expiry in Unix milliseconds (8), the body's length (2) and body, then
// the ed25519 signature (64) of "ferry account record v1\x00" followed by
// everything before it. All integers big endian.
type AccountRecord struct {
	// Account is the account's ed25519 public key.
	Account [ed25519.PublicKeySize]byte
	// Seq orders the records of one account: higher is newer.
	Seq uint64
	// Expires is when the record stops being valid, to the millisecond.
	Expires time.Time
	// Body is the core's content, opaque to plugins.
	Body []byte
	// Sig is the account key's signature.
	Sig []byte
}

// Account record limits.
const (
	// MaxAccountRecordSize is the largest encoded account record.
	MaxAccountRecordSize = 8 << 10
	// MaxAccountRecordTTL is the longest an account record may claim to
	// live (plus five minutes of clock skew).
	MaxAccountRecordTTL = 24 * time.Hour
)

// CapAccountRecords is the capability of a discovery plugin that
// implements [AccountDirectory].
const CapAccountRecords = "discovery.account_records"

// ErrBadAccountRecord is returned when an account record does not parse,
// is not signed by its account, or has expired.
var ErrBadAccountRecord = errors.New("bad account record")

const accountRecordDomain = "ferry account record v1\x00"

var accountRecordMagic = [4]byte{'F', 'A', 'R', 1}

// AccountDirectory is implemented by discovery plugins that can store and
// find account records (capability [CapAccountRecords]). PublishAccount
// keeps the record published (republishing it as the plugin does its own
// record) until a newer one of the account replaces it or the plugin
// closes; LookupAccount returns the freshest valid record of the account,
// or an error wrapping [ErrNotFound]. Both are safe to call concurrently.
type AccountDirectory interface {
	PublishAccount(ctx context.Context, record []byte) error
	LookupAccount(ctx context.Context, account [ed25519.PublicKeySize]byte) ([]byte, error)
}

func (r *AccountRecord) signed() []byte {
	b := make([]byte, 0, 4+32+8+8+2+len(r.Body))
	b = append(b, accountRecordMagic[:]...)
	b = append(b, r.Account[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Expires.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Body)))
	return append(b, r.Body...)
}

// SignAccountRecord encodes a record of the account whose private key is
// key, signed with it.
func SignAccountRecord(key ed25519.PrivateKey, seq uint64, expires time.Time, body []byte) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign account record: key of %d bytes", len(key))
	}
	r := &AccountRecord{Seq: seq, Expires: expires, Body: body}
	copy(r.Account[:], key.Public().(ed25519.PublicKey))
	if len(body) > 0xffff {
		return nil, fmt.Errorf("sign account record: body of %d bytes", len(body))
	}
	b := r.signed()
	b = append(b, ed25519.Sign(key, append([]byte(accountRecordDomain), b...))...)
	if len(b) > MaxAccountRecordSize {
		return nil, fmt.Errorf("sign account record: %d bytes, at most %d", len(b), MaxAccountRecordSize)
	}
	return b, nil
}

// ParseAccountRecord decodes an account record and checks its form, not
// its signature. Errors wrap [ErrBadAccountRecord].
func ParseAccountRecord(b []byte) (*AccountRecord, error) {
	if len(b) > MaxAccountRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadAccountRecord, len(b), MaxAccountRecordSize)
	}
	const head = 4 + 32 + 8 + 8 + 2
	if len(b) < head+ed25519.SignatureSize || [4]byte(b[:4]) != accountRecordMagic {
		return nil, fmt.Errorf("%w: not an account record", ErrBadAccountRecord)
	}
	r := &AccountRecord{}
	copy(r.Account[:], b[4:36])
	r.Seq = binary.BigEndian.Uint64(b[36:44])
	r.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(b[44:52])))
	n := int(binary.BigEndian.Uint16(b[52:54]))
	if len(b) != head+n+ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: body of %d bytes in a record of %d", ErrBadAccountRecord, n, len(b))
	}
	r.Body = append([]byte(nil), b[head:head+n]...)
	r.Sig = append([]byte(nil), b[head+n:]...)
	return r, nil
}

// Verify checks the record's signature by its account key and that it is
// valid at now, claiming at most [MaxAccountRecordTTL].
func (r *AccountRecord) Verify(now time.Time) error {
	if !ed25519.Verify(ed25519.PublicKey(r.Account[:]), append([]byte(accountRecordDomain), r.signed()...), r.Sig) {
		return fmt.Errorf("%w: not signed by its account key (forged)", ErrBadAccountRecord)
	}
	switch {
	case !now.Before(r.Expires):
		return fmt.Errorf("%w: expired at %s", ErrBadAccountRecord, r.Expires.UTC().Format(time.RFC3339))
	case r.Expires.After(now.Add(MaxAccountRecordTTL + 5*time.Minute)):
		return fmt.Errorf("%w: claims to live until %s, more than %v", ErrBadAccountRecord, r.Expires.UTC().Format(time.RFC3339), MaxAccountRecordTTL)
	}
	return nil
}
