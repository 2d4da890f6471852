package dht

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/ferry-p2p/ferry/sdk"
)

// Record limits and names.
const (
	// Namespace is the DHT key namespace of Ferry peer records: records live
	// under "/ferry/<printable peer ID>" (see [Key]).
	Namespace = "ferry"
	// RecordVersion is the version of the record format this package
	// writes. Records of a newer version are read as far as their fields
	// are known.
	RecordVersion = 1
	// MaxRecordSize is the largest encoded record accepted, in bytes.
	MaxRecordSize = 8 << 10
	// MaxRecordTTL is the longest lifetime a record may claim: a record
	// whose expiry lies further ahead than this (plus [MaxClockSkew]) is
	// refused, so no record outlives its device by more than a day.
	MaxRecordTTL = 24 * time.Hour
	// MaxClockSkew is how far a record's expiry may exceed MaxRecordTTL
	// because the signer's clock runs ahead.
	MaxClockSkew = 5 * time.Minute

	// recordDomain separates record signatures from every other use of
	// the delegated key.
	recordDomain = "ferry dht record v1\x00"
	// maxListEntries bounds each list in a record.
	maxListEntries = 16
	// maxEntryLen bounds each list entry and the name, in bytes.
	maxEntryLen = 256
)

// Key returns the DHT key of the record of device id:
// "/ferry/" followed by the printable (grouped, checked) peer ID.
func Key(id sdk.PeerID) string { return "/" + Namespace + "/" + id.String() }

// Record is the signed part of a Ferry peer record: what one device says
// about itself. See the package documentation for the wire form.
type Record struct {
	// V is the format version, [RecordVersion] when written here.
	V int `json:"v"`
	// ID is the device the record describes; the certificate must be
	// issued by it.
	ID sdk.PeerID `json:"id"`
	// Seq orders the records of one device: higher is newer. Writers use
	// the signing time in Unix milliseconds (or one more than their last),
	// so a restarted device, with a new delegated key, still supersedes
	// its older records.
	Seq uint64 `json:"seq"`
	// ExpiresMs is the end of the record's validity, in Unix milliseconds.
	ExpiresMs int64 `json:"expires_unix_ms"`
	// Name is the device's human name.
	Name string `json:"name,omitempty"`
	// P2PAddrs are libp2p multiaddrs of the device's DHT node, each ending
	// in /p2p/<libp2p peer ID>; that peer ID must be the one of the
	// certificate's delegated key.
	P2PAddrs []string `json:"p2p_addrs,omitempty"`
	// Addrs are the transport-level addresses the device announced
	// (sdk.PeerInfo.Addrs), opaque to this plugin.
	Addrs []string `json:"addrs,omitempty"`
	// Roles, Transports and Protocols list the plugins the device runs.
	Roles      []string `json:"roles,omitempty"`
	Transports []string `json:"transports,omitempty"`
	Protocols  []string `json:"protocols,omitempty"`
	// Owner is reserved for multi-device accounts: the printable peer ID
	// of an account key that vouches for this device. Empty today; when
	// set, it is signed like every other field, and one record per device
	// key stays the rule.
	Owner string `json:"owner,omitempty"`
	// Account is the device's account credentials (sdk.PeerInfo.Account),
	// opaque here and checked by the core: its certificate signed by an
	// account key, which names the device, and the newest revocation list
	// of that account it knows. Signed like every other field.
	Account []byte `json:"account,omitempty"`
}

// Expires returns ExpiresMs as a time.
func (r *Record) Expires() time.Time { return time.UnixMilli(r.ExpiresMs) }

// SignedRecord is a decoded record with its signature, as stored in the
// DHT. Decoding checks form only; [Validator.Validate] checks trust.
type SignedRecord struct {
	// Record is the decoded signed part.
	Record Record
	// Raw is the signed part exactly as it was signed.
	Raw []byte
	// Cert is the delegation certificate of the signing key.
	Cert sdk.Certificate
	// Sig is the delegated key's signature of the domain string and Raw.
	Sig []byte
}

// wireRecord is the encoded form: the signed part verbatim, then the
// certificate and the signature (base64, as encoding/json writes []byte).
type wireRecord struct {
	Record json.RawMessage `json:"record"`
	Cert   []byte          `json:"cert"`
	Sig    []byte          `json:"sig"`
}

// signingBytes returns what the delegated key signs.
func signingBytes(raw []byte) []byte {
	return append([]byte(recordDomain), raw...)
}

// SignRecord encodes r, signed with the delegated key d. It fails when
// the result would exceed [MaxRecordSize] or r breaks a field limit.
func SignRecord(r Record, d *sdk.Delegation) ([]byte, error) {
	if d == nil {
		return nil, fmt.Errorf("sign record: no delegated key")
	}
	if err := checkFields(&r); err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	cert, err := d.Cert.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	b, err := json.Marshal(wireRecord{Record: raw, Cert: cert, Sig: d.Sign(signingBytes(raw))})
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("sign record: %w: %d bytes, at most %d (fewer or shorter addresses, please)", ErrRecordTooLarge, len(b), MaxRecordSize)
	}
	return b, nil
}

// DecodeRecord decodes an encoded record and checks its form: size, JSON
// shape, version, a non-zero ID, a certificate of the right length, field
// limits. It does not check the signature, the key or the expiry; see
// [Validator.Validate]. Every error wraps [ErrRecordTooLarge] or
// [ErrRecordMalformed].
func DecodeRecord(b []byte) (*SignedRecord, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrRecordTooLarge, len(b), MaxRecordSize)
	}
	var w wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	if len(bytes.TrimSpace(w.Record)) == 0 || bytes.TrimSpace(w.Record)[0] != '{' {
		return nil, fmt.Errorf("%w: no \"record\" object", ErrRecordMalformed)
	}
	sr := &SignedRecord{Raw: []byte(w.Record), Sig: w.Sig}
	if err := json.Unmarshal(w.Record, &sr.Record); err != nil {
		return nil, fmt.Errorf("%w: record: %w", ErrRecordMalformed, err)
	}
	r := &sr.Record
	switch {
	case r.V < 1:
		return nil, fmt.Errorf("%w: version %d", ErrRecordMalformed, r.V)
	case r.ID.IsZero():
		return nil, fmt.Errorf("%w: no device id", ErrRecordMalformed)
	}
	cert, err := sdk.ParseCertificate(w.Cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	sr.Cert = cert
	if err := checkFields(r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	return sr, nil
}

// checkFields checks the limits of the free-form fields.
func checkFields(r *Record) error {
	if len(r.Name) > maxEntryLen || !utf8.ValidString(r.Name) {
		return fmt.Errorf("name: at most %d bytes of UTF-8", maxEntryLen)
	}
	if len(r.Owner) > maxEntryLen {
		return fmt.Errorf("owner: at most %d bytes", maxEntryLen)
	}
	if len(r.Account) > sdk.MaxAccountLen {
		return fmt.Errorf("account: %d bytes, at most %d", len(r.Account), sdk.MaxAccountLen)
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"p2p_addrs", r.P2PAddrs}, {"addrs", r.Addrs}, {"roles", r.Roles}, {"transports", r.Transports}, {"protocols", r.Protocols}} {
		if len(l.list) > maxListEntries {
			return fmt.Errorf("%s: %d entries, at most %d", l.name, len(l.list), maxListEntries)
		}
		for _, s := range l.list {
			if s == "" || len(s) > maxEntryLen || !utf8.ValidString(s) {
				return fmt.Errorf("%s: entry %.40q: want 1 to %d bytes of UTF-8", l.name, s, maxEntryLen)
			}
		}
	}
	return nil
}

// LibP2PID returns the libp2p peer ID of the record's delegated key: the
// identity of the device's DHT node.
func (sr *SignedRecord) LibP2PID() (peer.ID, error) {
	return libp2pIDOf(sr.Cert.Key)
}

// libp2pIDOf returns the libp2p peer ID of an ed25519 public key.
func libp2pIDOf(k ed25519.PublicKey) (peer.ID, error) {
	pk, err := crypto.UnmarshalEd25519PublicKey(k)
	if err != nil {
		return "", err
	}
	return peer.IDFromPublicKey(pk)
}

// AddrInfo returns the libp2p peer and the addresses (without /p2p/) to
// reach the device's node at.
func (sr *SignedRecord) AddrInfo() (peer.AddrInfo, error) {
	id, err := sr.LibP2PID()
	if err != nil {
		return peer.AddrInfo{}, err
	}
	ai := peer.AddrInfo{ID: id}
	for _, s := range sr.Record.P2PAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		tr, _ := peer.SplitAddr(a)
		if tr != nil {
			ai.Addrs = append(ai.Addrs, tr)
		}
	}
	return ai, nil
}

// PeerInfo returns the record as discovery reports it: the announced
// addresses first, then the libp2p ones.
func (sr *SignedRecord) PeerInfo(seen time.Time) sdk.PeerInfo {
	r := &sr.Record
	return sdk.PeerInfo{
		ID:         r.ID,
		Name:       r.Name,
		Addrs:      append(slices.Clone(r.Addrs), r.P2PAddrs...),
		Transports: slices.Clone(r.Transports),
		Protocols:  slices.Clone(r.Protocols),
		Roles:      slices.Clone(r.Roles),
		Source:     Name,
		Seen:       seen,
		Expires:    r.Expires(),
		Account:    slices.Clone(r.Account),
	}
}

// newer reports whether a supersedes b: a higher Seq, or the same Seq and
// a later expiry.
func newer(a, b *Record) bool {
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	return a.ExpiresMs > b.ExpiresMs
}

// Validator is the go-libp2p-record Validator of the "ferry" namespace.
// Register it with dht.NamespacedValidator([Namespace], Validator{}).
type Validator struct {
	// Now, when not nil, replaces time.Now (for tests).
	Now func() time.Time
}

func (v Validator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Validate checks that value is a well-formed record of at most
// [MaxRecordSize] bytes, stored under its device's key ([Key]), whose
// certificate was issued by that device and is valid, whose signature
// verifies with the certified key, which has not expired and claims at
// most [MaxRecordTTL], and whose libp2p addresses name the certified key's
// peer. Each refusal wraps one of the ErrRecord errors.
func (v Validator) Validate(key string, value []byte) error {
	sr, err := DecodeRecord(value)
	if err != nil {
		return err
	}
	return verifyRecord(key, sr, v.now())
}

// verifyRecord checks trust in a decoded record; see Validator.Validate.
func verifyRecord(key string, sr *SignedRecord, now time.Time) error {
	r := &sr.Record
	if want := Key(r.ID); key != want {
		return fmt.Errorf("%w: the record of %s is under %.80q, want %q", ErrRecordWrongKey, r.ID.Short(), key, want)
	}
	if len(sr.Sig) == 0 {
		return fmt.Errorf("%w: the record of %s is unsigned", ErrRecordForged, r.ID.Short())
	}
	if len(sr.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrRecordForged, len(sr.Sig), ed25519.SignatureSize)
	}
	if err := sdk.VerifyDelegated(r.ID, sr.Cert, signingBytes(sr.Raw), sr.Sig, now); err != nil {
		return fmt.Errorf("%w: the record of %s: %w", ErrRecordForged, r.ID.Short(), err)
	}
	exp := r.Expires()
	switch {
	case !now.Before(exp):
		return fmt.Errorf("%w: the record of %s (seq %d) expired at %s", ErrRecordExpired, r.ID.Short(), r.Seq, exp.UTC().Format(time.RFC3339))
	case exp.After(now.Add(MaxRecordTTL + MaxClockSkew)):
		return fmt.Errorf("%w: the record of %s claims to live until %s, more than %v from now", ErrRecordExpired, r.ID.Short(), exp.UTC().Format(time.RFC3339), MaxRecordTTL)
	}
	id, err := sr.LibP2PID()
	if err != nil {
		return fmt.Errorf("%w: delegated key: %w", ErrRecordMalformed, err)
	}
	for _, s := range r.P2PAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%w: p2p address %.80q: %w", ErrRecordMalformed, s, err)
		}
		_, pid := peer.SplitAddr(a)
		if pid != id {
			return fmt.Errorf("%w: p2p address %.80q does not end in /p2p/%s, the delegated key's peer", ErrRecordMalformed, s, id)
		}
	}
	return nil
}

// Select returns the index of the freshest record among values: the
// highest Seq, then the latest expiry; the first on a tie. Values that do
// not decode are passed over; it fails only when none decodes. The DHT
// uses it to refuse a PUT of an older record over a newer one and to pick
// the answer of a lookup.
func (v Validator) Select(key string, values [][]byte) (int, error) {
	best := -1
	var bestRec *Record
	for i, b := range values {
		sr, err := DecodeRecord(b)
		if err != nil {
			continue
		}
		if best < 0 || newer(&sr.Record, bestRec) {
			best, bestRec = i, &sr.Record
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("%w: none of %d values under %.80q decodes", ErrRecordMalformed, len(values), key)
	}
	return best, nil
}

// peerIDFromKey parses the device ID out of a record key; ok is false when
// key is not a Ferry record key.
func peerIDFromKey(key string) (sdk.PeerID, bool) {
	rest, ok := strings.CutPrefix(key, "/"+Namespace+"/")
	if !ok {
		return sdk.PeerID{}, false
	}
	id, err := sdk.ParsePeerID(rest)
	return id, err == nil
}
