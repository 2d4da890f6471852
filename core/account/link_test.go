package account

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// runLink runs a joiner against l through the whole exchange and returns
// what the joiner got, the linker's errors and the joiner's error.
func runLink(t *testing.T, l *Linker, joiner, linker sdk.PeerID, code LinkCode, name string) (*Certificate, []error, error) {
	t.Helper()
	j, msg, err := NewJoiner(joiner, linker, code, name)
	if err != nil {
		t.Fatal(err)
	}
	var linkerErrs []error
	for range 4 {
		reply, _, lerr := l.Handle(joiner, msg)
		if lerr != nil {
			linkerErrs = append(linkerErrs, lerr)
		}
		if reply == nil {
			t.Fatalf("the linker did not answer: %v", lerr)
		}
		next, cert, _, err := j.Handle(reply, t0.Add(time.Minute))
		if err != nil || cert != nil {
			return cert, linkerErrs, err
		}
		msg = next
	}
	t.Fatal("the exchange did not end")
	return nil, nil, nil
}

func TestLinkCode(t *testing.T) {
	dev := newDevice(t)
	c, err := NewLinkCode(dev)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if len(s) != 17 || !strings.HasPrefix(s, dev.Short()+"-") {
		t.Fatalf("code %q", s)
	}
	for _, typed := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", " ")} {
		if got, err := ParseLinkCode(typed); err != nil || got != c {
			t.Errorf("ParseLinkCode(%q) = %v, %v", typed, got, err)
		}
	}
	for _, bad := range []string{"", "ABC", s + "A", strings.Replace(s, s[9:10], "!", 1)} {
		if _, err := ParseLinkCode(bad); !errors.Is(err, ErrBadLinkCode) {
			t.Errorf("ParseLinkCode(%q) = %v, want ErrBadLinkCode", bad, err)
		}
	}
}

func TestLink(t *testing.T) {
	key, acct := newKey(t)
	linker, joiner, other := newDevice(t), newDevice(t), newDevice(t)
	code, _ := NewLinkCode(linker)
	wrong := code
	wrong.Secret = "AAAAAAAA"
	if wrong.Secret == code.Secret {
		wrong.Secret = "BBBBBBBB"
	}
	rev, _ := Revoke(key, nil, other, t0)
	newLinker := func(tries int) *Linker {
		return NewLinker(LinkerOptions{Key: key, Self: linker, Code: code, Tries: tries, Expires: t0.Add(5 * time.Minute),
			Validity: DefaultValidity, Revocations: rev, Now: func() time.Time { return t0.Add(time.Minute) }})
	}

	t.Run("right code", func(t *testing.T) {
		l := newLinker(3)
		cert, lerrs, err := runLink(t, l, joiner, linker, code, "phone")
		if err != nil || len(lerrs) != 0 {
			t.Fatalf("link: %v, linker: %v", err, lerrs)
		}
		if cert.Device != joiner || cert.Account != acct || cert.Name != "phone" {
			t.Fatalf("certificate %+v", cert)
		}
		// Used once: the same code, right, fails for the next device.
		if _, lerrs, err := runLink(t, l, other, linker, code, "tablet"); !errors.Is(err, ErrLinkFailed) || len(lerrs) == 0 {
			t.Fatalf("a second use: %v, linker %v", err, lerrs)
		}
	})
	t.Run("wrong code burns after tries", func(t *testing.T) {
		l := newLinker(2)
		for i := range 2 {
			cert, lerrs, err := runLink(t, l, joiner, linker, wrong, "phone")
			if !errors.Is(err, ErrLinkFailed) || cert != nil {
				t.Fatalf("wrong code %d: %v, %v", i, cert, err)
			}
			if i == 1 && !errors.Is(lerrs[len(lerrs)-1], ErrCodeBurned) {
				t.Fatalf("after 2 wrong codes the linker says %v, want ErrCodeBurned", lerrs)
			}
		}
		// Burned: even the right code fails now.
		if _, _, err := runLink(t, l, joiner, linker, code, "phone"); !errors.Is(err, ErrLinkFailed) {
			t.Fatalf("right code after burning: %v", err)
		}
	})
	t.Run("wrong code reveals nothing", func(t *testing.T) {
		// The answers to a wrong and to a used code are the same bytes
		// but for the session.
		l := newLinker(5)
		j, hello, _ := NewJoiner(joiner, linker, wrong, "phone")
		pk, _, _ := l.Handle(joiner, hello)
		confirm, _, _, _ := j.Handle(pk, t0)
		fail, _, _ := l.Handle(joiner, confirm)
		m, _ := decodeLinkMsg(fail)
		if m.Step != "fail" || m.Reason != ErrLinkFailed.Error() || m.Cert != nil || m.MAC != nil {
			t.Fatalf("answer to a wrong code: %s", fail)
		}
	})
	t.Run("expired", func(t *testing.T) {
		l := NewLinker(LinkerOptions{Key: key, Self: linker, Code: code, Tries: 3, Expires: t0, Validity: time.Hour, Now: func() time.Time { return t0.Add(time.Second) }})
		if _, _, err := runLink(t, l, joiner, linker, code, "phone"); !errors.Is(err, ErrLinkFailed) {
			t.Fatalf("expired code: %v", err)
		}
	})
	t.Run("relay swaps the joiner", func(t *testing.T) {
		// A relay forwards the joiner's hello but confirms as another
		// device: the linker sees no session of that device.
		l := newLinker(3)
		j, hello, _ := NewJoiner(joiner, linker, code, "phone")
		pk, _, _ := l.Handle(joiner, hello)
		confirm, _, _, _ := j.Handle(pk, t0)
		if _, issued, err := l.Handle(other, confirm); issued != nil || err == nil {
			t.Fatalf("a confirmation relayed by another device issued %v", issued)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		l := newLinker(3)
		for _, b := range []string{"", "{}", `{"step":"hello","session":"00000000000000000000000000000000","name":"x","pake":"e30="}`,
			`{"step":"hello","session":"00000000000000000000000000000000","name":"x","pake":"eyJSb2xlIjowfQ=="}`,
			`{"step":"nope","session":"00000000000000000000000000000000"}`} {
			if _, issued, err := l.Handle(joiner, []byte(b)); err == nil || issued != nil {
				t.Errorf("Handle(%s) = %v, %v", b, issued, err)
			}
		}
	})
}

// FuzzLinkHandle feeds the linker arbitrary messages: no panic, and never
// a certificate.
func FuzzLinkHandle(f *testing.F) {
	f.Add([]byte(`{"step":"hello","session":"00000000000000000000000000000000","name":"x","pake":"eyJSb2xlIjowLCJY4bWkIjoxLCJY4bWlIjoyfQ=="}`))
	f.Add([]byte(`{"step":"confirm","session":"00000000000000000000000000000000","mac":"AA=="}`))
	f.Add([]byte(`{}`))
	var linker, joiner sdk.PeerID
	linker[0], joiner[0] = 1, 2
	seedKey := make([]byte, 32)
	key := ed25519NewKeyFromSeed(seedKey)
	code := LinkCode{Linker: linker.Short(), Secret: "ABCDEFGH"}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := NewLinker(LinkerOptions{Key: key, Self: linker, Code: code, Tries: 3, Expires: time.Now().Add(time.Hour), Validity: time.Hour})
		if _, issued, _ := l.Handle(joiner, b); issued != nil {
			t.Fatal("a single message issued a certificate")
		}
	})
}
