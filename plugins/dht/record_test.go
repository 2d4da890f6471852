package dht

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	record "github.com/libp2p/go-libp2p-record"
	recpb "github.com/libp2p/go-libp2p-record/pb"

	"github.com/ferry-p2p/ferry/sdk"
)

// device is a test device: its ID, key and a delegation.
type device struct {
	id   sdk.PeerID
	priv ed25519.PrivateKey
	del  *sdk.Delegation
}

func newDevice(t testing.TB) device {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := sdk.PeerIDFromKey(pub)
	del, err := sdk.NewDelegation(priv, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return device{id: id, priv: priv, del: del}
}

// p2pAddr returns a multiaddr of the libp2p node that d's delegated key
// is the identity of.
func p2pAddr(t testing.TB, d *sdk.Delegation) string {
	t.Helper()
	pid, err := libp2pIDOf(d.Cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	return "/ip4/127.0.0.1/tcp/4001/p2p/" + pid.String()
}

// baseRecord returns a valid record of dev, expiring in an hour.
func baseRecord(t testing.TB, dev device, seq uint64) Record {
	return Record{
		V: RecordVersion, ID: dev.id, Seq: seq, ExpiresMs: time.Now().Add(time.Hour).UnixMilli(),
		Name: "laptop", P2PAddrs: []string{p2pAddr(t, dev.del)}, Addrs: []string{"192.0.2.7:4242"},
		Roles: []string{"discovery", "signaling"}, Transports: []string{"tcp"}, Protocols: []string{"ftv2a"},
	}
}

func mustSign(t testing.TB, r Record, d *sdk.Delegation) []byte {
	t.Helper()
	b, err := SignRecord(r, d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewire decodes an encoded record's envelope, lets f change it and
// encodes it again, without signing.
func rewire(t testing.TB, b []byte, f func(w map[string]any)) []byte {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	f(w)
	out, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestValidator checks each rule of the validator, one refusal per case.
func TestValidator(t *testing.T) {
	dev, other := newDevice(t), newDevice(t)
	valid := mustSign(t, baseRecord(t, dev, 1), dev.del)
	expiredDel, err := sdk.NewDelegation(dev.priv, time.Hour, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		key   string
		value func() []byte
		want  error // nil: accepted
	}{
		{"valid", Key(dev.id), func() []byte { return valid }, nil},
		{"unsigned", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) { delete(w, "sig") })
		}, ErrRecordForged},
		{"forged signature", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) {
				sig, err := base64.StdEncoding.DecodeString(w["sig"].(string))
				if err != nil {
					t.Fatal(err)
				}
				sig[3] ^= 1
				w["sig"] = base64.StdEncoding.EncodeToString(sig)
			})
		}, ErrRecordForged},
		{"altered after signing", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) {
				w["record"].(map[string]any)["name"] = "evil twin"
			})
		}, ErrRecordForged},
		{"signed by another device's delegation", Key(dev.id), func() []byte {
			r := baseRecord(t, dev, 1)
			r.P2PAddrs = []string{p2pAddr(t, other.del)}
			return mustSign(t, r, other.del) // cert issued by other, record claims dev
		}, ErrRecordForged},
		{"certificate with a bad signature", Key(dev.id), func() []byte {
			bad := *dev.del
			bad.Cert.Sig = append([]byte(nil), dev.del.Cert.Sig...)
			bad.Cert.Sig[0] ^= 1
			return mustSign(t, baseRecord(t, dev, 1), &bad)
		}, ErrRecordForged},
		{"expired certificate", Key(dev.id), func() []byte {
			r := baseRecord(t, dev, 1)
			r.P2PAddrs = []string{p2pAddr(t, expiredDel)}
			return mustSign(t, r, expiredDel)
		}, ErrRecordForged},
		{"expired", Key(dev.id), func() []byte {
			r := baseRecord(t, dev, 1)
			r.ExpiresMs = time.Now().Add(-time.Second).UnixMilli()
			return mustSign(t, r, dev.del)
		}, ErrRecordExpired},
		{"expiry too far ahead", Key(dev.id), func() []byte {
			r := baseRecord(t, dev, 1)
			r.ExpiresMs = time.Now().Add(MaxRecordTTL + time.Hour).UnixMilli()
			return mustSign(t, r, dev.del)
		}, ErrRecordExpired},
		{"under another device's key", Key(other.id), func() []byte { return valid }, ErrRecordWrongKey},
		{"under a non-canonical key", "/ferry/" + strings.ToLower(dev.id.String()), func() []byte { return valid }, ErrRecordWrongKey},
		{"huge", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) { w["pad"] = strings.Repeat("x", MaxRecordSize) })
		}, ErrRecordTooLarge},
		{"garbage", Key(dev.id), func() []byte { return []byte("\x00\xffnot a record\x01") }, ErrRecordMalformed},
		{"empty", Key(dev.id), func() []byte { return nil }, ErrRecordMalformed},
		{"no record object", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) { w["record"] = "x" })
		}, ErrRecordMalformed},
		{"no device id", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) { delete(w["record"].(map[string]any), "id") })
		}, ErrRecordMalformed},
		{"short certificate", Key(dev.id), func() []byte {
			return rewire(t, valid, func(w map[string]any) { w["cert"] = "AAAA" })
		}, ErrRecordMalformed},
		{"p2p address of another node", Key(dev.id), func() []byte {
			r := baseRecord(t, dev, 1)
			r.P2PAddrs = []string{p2pAddr(t, other.del)}
			return mustSign(t, r, dev.del)
		}, ErrRecordMalformed},
		{"too many addresses", Key(dev.id), func() []byte {
			b := rewire(t, valid, func(w map[string]any) {
				var addrs []any
				for range maxListEntries + 1 {
					addrs = append(addrs, "192.0.2.1:1")
				}
				w["record"].(map[string]any)["addrs"] = addrs
			})
			return b
		}, ErrRecordMalformed},
	}
	v := Validator{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Validate(c.key, c.value())
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("Validate: %v, want an error wrapping %q", err, c.want)
			}
			// Exactly one reason per refusal.
			n := 0
			for _, e := range []error{ErrRecordTooLarge, ErrRecordMalformed, ErrRecordWrongKey, ErrRecordForged, ErrRecordExpired} {
				if errors.Is(err, e) {
					n++
				}
			}
			if c.want != nil && n != 1 {
				t.Errorf("%v wraps %d reasons", err, n)
			}
		})
	}
}

// TestSignRecordLimits checks that a record too large to publish is
// refused when it is signed, with the reason.
func TestSignRecordLimits(t *testing.T) {
	dev := newDevice(t)
	r := baseRecord(t, dev, 1)
	r.Addrs = nil
	for range maxListEntries {
		r.Addrs = append(r.Addrs, strings.Repeat("a", maxEntryLen))
	}
	r.Roles, r.Transports, r.Protocols = r.Addrs, r.Addrs, r.Addrs
	if _, err := SignRecord(r, dev.del); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("SignRecord of a %d-entry record: %v, want ErrRecordTooLarge", 4*maxListEntries, err)
	}
	r = baseRecord(t, dev, 1)
	r.Name = strings.Repeat("n", maxEntryLen+1)
	if _, err := SignRecord(r, dev.del); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("SignRecord with a long name: %v", err)
	}
}

// TestSelect checks that the freshest record wins: the higher Seq, then
// the later expiry; undecodable values are passed over.
func TestSelect(t *testing.T) {
	dev := newDevice(t)
	old := mustSign(t, baseRecord(t, dev, 10), dev.del)
	newer := mustSign(t, baseRecord(t, dev, 11), dev.del)
	r := baseRecord(t, dev, 11)
	r.ExpiresMs += 1000
	longer := mustSign(t, r, dev.del)
	v := Validator{}
	for _, c := range []struct {
		name   string
		values [][]byte
		want   int
	}{
		{"newer first", [][]byte{newer, old}, 0},
		{"newer second", [][]byte{old, newer}, 1},
		{"same seq, later expiry", [][]byte{newer, longer}, 1},
		{"tie keeps the first", [][]byte{newer, newer}, 0},
		{"garbage passed over", [][]byte{[]byte("junk"), old, newer, nil}, 2},
	} {
		got, err := v.Select(Key(dev.id), c.values)
		if err != nil || got != c.want {
			t.Errorf("%s: Select = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if _, err := v.Select(Key(dev.id), [][]byte{[]byte("junk")}); !errors.Is(err, ErrRecordMalformed) {
		t.Errorf("Select of garbage only: %v", err)
	}
}

// TestOlderRecordDoesNotReplaceNewer stores records the way kad-dht
// v0.42.2's PUT_VALUE handler does (records.ValueStore.Put with the
// validator): an older record of the same device is refused with
// ErrOldRecord and the newer one stays.
func TestOlderRecordDoesNotReplaceNewer(t *testing.T) {
	dev := newDevice(t)
	older := mustSign(t, baseRecord(t, dev, 10), dev.del)
	newer := mustSign(t, baseRecord(t, dev, 11), dev.del)
	store := records.NewValueStore(dssync.MutexWrap(ds.NewMapDatastore()), record.NamespacedValidator{Namespace: Validator{}}, 0)
	ctx := context.Background()
	key := Key(dev.id)
	if err := store.Put(ctx, key, record.MakePutRecord(key, newer)); err != nil {
		t.Fatalf("put the newer record: %v", err)
	}
	if err := store.Put(ctx, key, record.MakePutRecord(key, older)); !errors.Is(err, records.ErrOldRecord) {
		t.Fatalf("put an older record over a newer: %v, want records.ErrOldRecord", err)
	}
	got, err := store.Get(ctx, key)
	if err != nil || got == nil || string(got.GetValue()) != string(newer) {
		t.Fatalf("stored after the older put: %v, %v", describe(got), err)
	}
	// And a forged record is not stored at all.
	forged := rewire(t, newer, func(w map[string]any) { w["record"].(map[string]any)["seq"] = 99 })
	if err := store.Put(ctx, key, record.MakePutRecord(key, forged)); !errors.Is(err, ErrRecordForged) {
		t.Fatalf("put a forged record: %v, want ErrRecordForged", err)
	}
}

func describe(r *recpb.Record) string {
	if r == nil {
		return "nothing"
	}
	sr, err := DecodeRecord(r.GetValue())
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("seq %d", sr.Record.Seq)
}

// TestRecordRoundTrip checks that what SignRecord writes decodes to the
// same record and validates.
func TestRecordRoundTrip(t *testing.T) {
	dev := newDevice(t)
	r := baseRecord(t, dev, 42)
	r.Owner = "reserved for multi-device accounts"
	b := mustSign(t, r, dev.del)
	sr, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if sr.Record.ID != dev.id || sr.Record.Seq != 42 || sr.Record.Name != "laptop" || sr.Record.Owner != r.Owner {
		t.Fatalf("decoded %+v", sr.Record)
	}
	if err := (Validator{}).Validate(Key(dev.id), b); err != nil {
		t.Fatal(err)
	}
	info := sr.PeerInfo(time.Now())
	if info.ID != dev.id || len(info.Addrs) != 2 || info.Addrs[0] != "192.0.2.7:4242" || !strings.Contains(info.Addrs[1], "/p2p/") || info.Source != Name {
		t.Fatalf("PeerInfo %+v", info)
	}
	ai, err := sr.AddrInfo()
	if err != nil || len(ai.Addrs) != 1 || ai.Addrs[0].String() != "/ip4/127.0.0.1/tcp/4001" {
		t.Fatalf("AddrInfo %v, %v", ai, err)
	}
	if id, ok := peerIDFromKey(Key(dev.id)); !ok || id != dev.id {
		t.Fatalf("peerIDFromKey(Key) = %v, %v", id, ok)
	}
}

// FuzzDecodeRecord checks that no input makes the decoder or the
// validator panic, and that whatever validates decodes to a record
// filed under its own key.
func FuzzDecodeRecord(f *testing.F) {
	dev := newDevice(f)
	valid := mustSign(f, baseRecord(f, dev, 1), dev.del)
	f.Add(valid)
	f.Add([]byte(`{"record":{"v":1},"cert":"","sig":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte("\x00\x01\x02"))
	key := Key(dev.id)
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, err := DecodeRecord(b)
		verr := Validator{}.Validate(key, b)
		if err != nil {
			if verr == nil {
				t.Fatalf("Validate accepted what DecodeRecord refused: %v", err)
			}
			return
		}
		if verr == nil && Key(sr.Record.ID) != key {
			t.Fatalf("a record of %s validated under %s", sr.Record.ID.Short(), key)
		}
		_ = sr.PeerInfo(time.Now())
		_, _ = sr.AddrInfo()
	})
}

// FuzzDecodeSignal checks that no signaling frame body makes the decoder
// panic, and that a decoded one has the sizes the format says.
func FuzzDecodeSignal(f *testing.F) {
	dev := newDevice(f)
	cert, _ := dev.del.Cert.MarshalBinary()
	frame := encodeSignal(dev.id, cert, dev.id, []byte("hello"))
	f.Add(frame[4:])
	f.Add([]byte{1})
	f.Add(make([]byte, frameHeaderLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeSignal(b)
		if err != nil {
			return
		}
		if len(fr.payload) != len(b)-frameHeaderLen || len(fr.cert.Key) != ed25519.PublicKeySize {
			t.Fatalf("decoded %d payload bytes of a %d-byte body", len(fr.payload), len(b))
		}
	})
}
