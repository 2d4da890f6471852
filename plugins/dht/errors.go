package dht

import "errors"

// The validator's refusals. Each error [Validator.Validate] returns wraps
// exactly one of them, so callers and logs can tell why a record was
// refused with errors.Is.
var (
	// ErrRecordTooLarge is returned for a record over [MaxRecordSize] bytes.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrRecordMalformed is returned for bytes that are not a record: not
	// JSON, missing fields, bad field values or lengths.
	ErrRecordMalformed = errors.New("malformed record")
	// ErrRecordWrongKey is returned when a record is stored under a key
	// other than the one of the device it describes.
	ErrRecordWrongKey = errors.New("record under the wrong key")
	// ErrRecordForged is returned when the certificate or the signature does
	// not verify: signed by someone else, altered, or a certificate issued
	// by another device.
	ErrRecordForged = errors.New("forged record")
	// ErrRecordExpired is returned for a record past its expiry, or whose
	// expiry is further in the future than [MaxRecordTTL] allows.
	ErrRecordExpired = errors.New("expired record")
)

// ErrNoDHTPeers is wrapped (with [sdk.ErrNotFound]) by the errors of
// Lookup and Send while this node has no DHT peer to ask.
var ErrNoDHTPeers = errors.New("no DHT peers")
