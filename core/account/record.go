package account

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MaxRecordDevices is the most device certificates one account record
// names.
const MaxRecordDevices = 24

// RecordTTL is how long an account record is valid; the key holder signs
// a new one before that.
const RecordTTL = sdk.MaxAccountRecordTTL

// A Record is what an account publishes in a directory (the DHT): the
// certificates of its devices and its revocation list, in the body of an
// sdk.AccountRecord signed by the account key, so that an account ID
// resolves to every device.
//
// Body encoding: kind (4), version (1), the number of certificates (1),
// each certificate's length (2) and encoding, the revocation list's length
// (2, 0 for none) and encoding.
type Record struct {
	// Account is the account.
	Account ID
	// Seq orders the records: higher is newer.
	Seq uint64
	// Expires is when the record stops being valid.
	Expires time.Time
	// Devices are the certificates of the account's devices.
	Devices []*Certificate
	// Revocations is the account's list; nil for none.
	Revocations *Revocations
}

// SignRecord encodes and signs the account record of key: the valid,
// unrevoked certificates among certs (at most [MaxRecordDevices], the
// newest first), rev, seq, valid from now for [RecordTTL].
func SignRecord(key ed25519.PrivateKey, certs []*Certificate, rev *Revocations, seq uint64, now time.Time) ([]byte, error) {
	acct, err := idOfPrivate(key)
	if err != nil {
		return nil, err
	}
	var keep [][]byte
	for i := len(certs) - 1; i >= 0 && len(keep) < MaxRecordDevices; i-- {
		c := certs[i]
		if c.Verify(acct, now) != nil || rev.Revoked(c.Device) {
			continue
		}
		b, err := c.MarshalBinary()
		if err != nil {
			return nil, err
		}
		keep = append(keep, b)
	}
	body := []byte{kindRecord, wireVersion, byte(len(keep))}
	for _, b := range keep {
		body = binary.BigEndian.AppendUint16(body, uint16(len(b)))
		body = append(body, b...)
	}
	var rb []byte
	if rev != nil {
		if rb, err = rev.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(rb)))
	body = append(body, rb...)
	return sdk.SignAccountRecord(key, seq, now.Add(RecordTTL), body)
}

// OpenRecord decodes and checks an account record found for acct: the
// envelope's signature by acct and its expiry, then every certificate
// (signed by acct, valid at now, not revoked by the record's list) and
// the list. Errors wrap [ErrMalformed], [ErrForged], [ErrOtherAccount] or
// [ErrExpired].
func OpenRecord(raw []byte, acct ID, now time.Time) (*Record, error) {
	env, err := sdk.ParseAccountRecord(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if ID(env.Account) != acct {
		return nil, fmt.Errorf("account record: %w: %s, not %s", ErrOtherAccount, ID(env.Account), acct)
	}
	if err := env.Verify(now); err != nil {
		return nil, fmt.Errorf("account record of %s: %w: %w", acct.Short(), ErrForged, err)
	}
	r := &Record{Account: acct, Seq: env.Seq, Expires: env.Expires}
	rd := &reader{b: env.Body, what: "account record"}
	rd.header(kindRecord)
	n := int(rd.byte("count"))
	if n > MaxRecordDevices {
		rd.fail("%d devices, at most %d", n, MaxRecordDevices)
	}
	var raws [][]byte
	for i := 0; i < n && rd.err == nil; i++ {
		raws = append(raws, rd.bytes(rd.u16("certificate length"), "certificate"))
	}
	rev := rd.bytes(rd.u16("revocations length"), "revocations")
	rd.end()
	if rd.err != nil {
		return nil, rd.err
	}
	if len(rev) > 0 {
		if r.Revocations, err = ParseRevocations(rev); err != nil {
			return nil, err
		}
		if err := r.Revocations.Verify(acct); err != nil {
			return nil, err
		}
	}
	for _, b := range raws {
		c, err := ParseCertificate(b)
		if err != nil {
			return nil, err
		}
		if err := c.Verify(acct, now); err != nil {
			return nil, err
		}
		if !r.Revocations.Revoked(c.Device) {
			r.Devices = append(r.Devices, c)
		}
	}
	return r, nil
}
