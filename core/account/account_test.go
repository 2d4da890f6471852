package account

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func newKey(t *testing.T) (ed25519.PrivateKey, ID) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := IDFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key, id
}

func newDevice(t *testing.T) sdk.PeerID {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestIDForm(t *testing.T) {
	_, id := newKey(t)
	s := id.String()
	if !strings.HasPrefix(s, "acct-") {
		t.Fatalf("account id %q does not start with acct-", s)
	}
	got, err := ParseID(s)
	if err != nil || got != id {
		t.Fatalf("ParseID(%q) = %v, %v", s, got, err)
	}
	if got, err := ParseID(strings.ToLower(strings.ReplaceAll(s, "-", " "))); err != nil || got != id {
		t.Fatalf("forgiving parse: %v, %v", got, err)
	}
	// A device ID is never an account ID and the reverse.
	dev := sdk.PeerID(id).String()
	if _, err := ParseID(dev); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("ParseID(device form) = %v, want ErrInvalidID", err)
	}
	if _, err := sdk.ParsePeerID(s); err == nil {
		t.Fatalf("sdk.ParsePeerID accepted the account id %q", s)
	}
	// A mistyped check character is caught.
	b := []byte(s)
	i := len(Prefix) + 3
	if b[i] == 'Q' {
		b[i] = 'R'
	} else {
		b[i] = 'Q'
	}
	if _, err := ParseID(string(b)); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("ParseID(typo) = %v, want ErrInvalidID", err)
	}
}

func TestCertificateChecks(t *testing.T) {
	key, acct := newKey(t)
	otherKey, _ := newKey(t)
	dev := newDevice(t)
	good, err := Issue(key, dev, "laptop", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := Issue(otherKey, dev, "laptop", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	altered := *good
	altered.Name = "phone"
	// A certificate signed by another key but naming this account.
	stolen := *foreign
	stolen.Account = acct
	cases := []struct {
		name    string
		cert    *Certificate
		now     time.Time
		want    error
		wantMsg string
	}{
		{"valid", good, t0.Add(time.Hour), nil, ""},
		{"another account", foreign, t0.Add(time.Hour), ErrOtherAccount, foreign.Account.String()},
		{"expired", good, t0.Add(25 * time.Hour), ErrExpired, "2026-03-02T12:00:00Z"},
		{"altered", &altered, t0.Add(time.Hour), ErrForged, ""},
		{"signed by another key", &stolen, t0.Add(time.Hour), ErrForged, ""},
		{"not yet valid", good, t0.Add(-time.Hour), ErrNotYetValid, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cert.Verify(acct, c.now)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if c.wantMsg != "" && !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("error %q does not name %q", err, c.wantMsg)
			}
		})
	}
}

func TestCertificateRoundTrip(t *testing.T) {
	key, acct := newKey(t)
	dev := newDevice(t)
	c, err := Issue(key, dev, "Zoë's phone", t0, DefaultValidity)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != dev || got.Account != acct || got.Name != c.Name || !got.Issued.Equal(c.Issued) || !got.Expires.Equal(c.Expires) {
		t.Fatalf("round trip: %+v, want %+v", got, c)
	}
	if err := got.Verify(acct, t0); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		if p, err := ParseCertificate(bad); err == nil && p.Verify(acct, t0) == nil {
			t.Fatalf("a flipped bit at byte %d still verifies", i)
		}
	}
	if _, err := ParseCertificate(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := ParseCertificate(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: %v", err)
	}
	if _, err := Issue(key, dev, strings.Repeat("x", MaxNameLen+1), t0, time.Hour); err == nil {
		t.Fatal("a name over MaxNameLen was certified")
	}
}

func TestRevocations(t *testing.T) {
	key, acct := newKey(t)
	otherKey, _ := newKey(t)
	a, b := newDevice(t), newDevice(t)
	r1, err := Revoke(key, nil, a, t0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Revoke(key, r1, b, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Version != 2 || !r2.Revoked(a) || !r2.Revoked(b) || r1.Revoked(b) {
		t.Fatalf("r2 = v%d %v", r2.Version, r2.Devices)
	}
	if !r2.Newer(r1) || r1.Newer(r2) || !r1.Newer(nil) {
		t.Fatal("Newer does not order by version")
	}
	if err := r2.Check(b); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Check(revoked) = %v", err)
	}
	raw, err := r2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRevocations(raw)
	if err != nil || got.Verify(acct) != nil || got.Version != 2 || len(got.Devices) != 2 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := Revoke(otherKey, r1, b, t0); !errors.Is(err, ErrOtherAccount) {
		t.Fatalf("another key extending the list: %v", err)
	}
	forged := *r2
	forged.Devices = forged.Devices[:1]
	if err := forged.Verify(acct); !errors.Is(err, ErrForged) {
		t.Fatalf("altered list: %v", err)
	}
}

func TestBook(t *testing.T) {
	key, acct := newKey(t)
	otherKey, _ := newKey(t)
	dev, dev2, spoof := newDevice(t), newDevice(t), newDevice(t)
	home := t.TempDir()
	book := NewBook(OpenStore(home))
	book.SetClock(func() time.Time { return t0.Add(time.Hour) })
	cred := func(k ed25519.PrivateKey, d sdk.PeerID, rev *Revocations) []byte {
		t.Helper()
		c, err := Issue(k, d, "d", t0, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&Credentials{Cert: c, Revocations: rev}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if c, fresh, err := book.Observe(dev, cred(key, dev, nil)); err != nil || !fresh || c.Account != acct {
		t.Fatalf("Observe(valid) = %v, %v, %v", c, fresh, err)
	}
	if _, _, err := book.Observe(dev2, cred(key, dev2, nil)); err != nil {
		t.Fatal(err)
	}
	if got := book.Devices(acct); len(got) != 2 {
		t.Fatalf("Devices = %v, want 2", got)
	}
	// Another device presenting dev's certificate.
	if _, fresh, err := book.Observe(spoof, cred(key, dev, nil)); !errors.Is(err, ErrWrongDevice) || !fresh {
		t.Fatalf("Observe(someone else's cert) = %v, %v", fresh, err)
	}
	if _, fresh, _ := book.Observe(spoof, cred(key, dev, nil)); fresh {
		// Issue signs anew, but the bytes differ only in nothing: same
		// inputs, same deterministic ed25519 signature.
		t.Fatal("the same refused credentials count as fresh twice")
	}
	garbage := []byte{3, 1, 0, 5, 1, 2}
	if _, _, err := book.Observe(dev, garbage); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Observe(garbage) = %v", err)
	}
	// A revocation list carried by dev2 revokes dev, and outlives the book.
	rev, err := Revoke(key, nil, dev, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := book.Observe(dev2, cred(key, dev2, rev)); err != nil {
		t.Fatal(err)
	}
	if err := book.Check(dev); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Check(revoked) = %v", err)
	}
	if err := book.Check(dev2); err != nil {
		t.Fatalf("Check(dev2) = %v", err)
	}
	if got := book.Devices(acct); len(got) != 1 || got[0] != dev2 {
		t.Fatalf("Devices after revocation = %v", got)
	}
	again := NewBook(OpenStore(home))
	if err := again.Check(dev); !errors.Is(err, ErrRevoked) {
		t.Fatalf("a new book forgot the revocation: %v", err)
	}
	// An older list does not replace a newer one; another key's list is
	// not learnt as this account's.
	older, _ := Revoke(key, nil, dev2, t0)
	if book.Learn(older) {
		t.Fatal("an older-or-equal version replaced the known list")
	}
	fake, _ := Revoke(otherKey, nil, dev2, t0)
	fake.Account = acct
	if book.Learn(fake) {
		t.Fatal("a forged list was learnt")
	}
	if err := book.Check(dev2); err != nil {
		t.Fatalf("Check(dev2) after forged lists = %v", err)
	}
	// Expired certificates make the device refused.
	book.SetClock(func() time.Time { return t0.Add(48 * time.Hour) })
	if err := book.Check(dev2); !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "2026-03-02T12:00:00Z") {
		t.Fatalf("Check(expired) = %v", err)
	}
}

func TestStore(t *testing.T) {
	home := t.TempDir()
	s := OpenStore(home)
	dev := newDevice(t)
	if _, err := s.Key(); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Key before create: %v", err)
	}
	if _, err := s.Certificate(); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Certificate before create: %v", err)
	}
	c, err := s.Create(dev, "desk", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(dev, "desk", t0); err == nil {
		t.Fatal("a second create replaced the account")
	}
	fi, err := os.Stat(s.Path(KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	if di, err := os.Stat(filepath.Join(home, Dir)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("account dir mode %v, %v", di.Mode(), err)
	}
	key, err := s.Key()
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := idOfPrivate(key)
	if c.Account != acct || c.Device != dev {
		t.Fatalf("certificate %+v", c)
	}
	if issued, err := s.Issued(); err != nil || len(issued) != 1 {
		t.Fatalf("Issued = %v, %v", issued, err)
	}
	r, _ := Revoke(key, nil, newDevice(t), t0)
	if ok, err := s.SaveRevocations(r); !ok || err != nil {
		t.Fatalf("SaveRevocations = %v, %v", ok, err)
	}
	if ok, _ := s.SaveRevocations(r); ok {
		t.Fatal("the same version saved twice")
	}
	cr, err := s.Credentials()
	if err != nil || cr.Revocations == nil || cr.Verify(dev, t0) != nil {
		t.Fatalf("Credentials = %+v, %v", cr, err)
	}
	if err := os.Chmod(s.Path(KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(); !errors.Is(err, ErrInsecureKeyFile) {
		t.Fatalf("Key with mode 0644: %v", err)
	}
}
