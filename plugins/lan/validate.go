package lan

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-p2p/ferry/sdk"
)

// check enforces the rules shared by Encode and Decode.
func check(m *Message) error {
	if !m.Type.known() {
		return malformed("type", "%q is not JOIN, PING, LEAVE or SIGNAL", m.Type)
	}
	if m.Type.IsAnnouncement() {
		if !m.To.IsZero() || len(m.Payload) != 0 {
			return malformed("to", "%s carries no recipient or payload", m.Type)
		}
		if err := checkName(m.User.Name); err != nil {
			return err
		}
		if err := checkIP(m.User.IP, m.Ferry != nil); err != nil {
			return err
		}
	} else {
		if m.Ferry == nil {
			return malformed("ferry", "missing: SIGNAL is for Ferry peers only")
		}
		if m.User != (User{}) {
			return malformed("user", "SIGNAL carries no user")
		}
		if m.To.IsZero() {
			return malformed("to", "missing")
		}
		if len(m.Payload) > sdk.MaxEnvelopePayload {
			return malformed("payload", "%d bytes exceeds %d", len(m.Payload), sdk.MaxEnvelopePayload)
		}
	}
	h := m.Ferry
	if h == nil {
		return nil
	}
	if h.V < 1 {
		return malformed("ferry.v", "%d, want at least 1", h.V)
	}
	if h.ID.IsZero() {
		return malformed("ferry.id", "missing")
	}
	if h.Port == 0 {
		return malformed("ferry.port", "0 out of range 1..65535")
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"ferry.roles", h.Roles}, {"ferry.transports", h.Transports}, {"ferry.protocols", h.Protocols}} {
		if err := checkList(l.name, l.list); err != nil {
			return err
		}
	}
	if len(h.Cert) != sdk.CertificateSize {
		return malformed("ferry.cert", "%d bytes, want %d (unsigned?)", len(h.Cert), sdk.CertificateSize)
	}
	if _, err := sdk.ParseCertificate(h.Cert); err != nil {
		return malformed("ferry.cert", "%v", err)
	}
	if len(h.Account) > sdk.MaxAccountLen {
		return malformed("ferry.account", "%d bytes exceeds %d", len(h.Account), sdk.MaxAccountLen)
	}
	if len(h.Sig) != ed25519.SignatureSize {
		return malformed("ferry.sig", "%d bytes, want %d (unsigned?)", len(h.Sig), ed25519.SignatureSize)
	}
	return nil
}

func checkName(s string) error {
	if !utf8.ValidString(s) {
		return malformed("user.name", "not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return malformed("user.name", "%d runes exceeds %d", n, MaxNameRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return malformed("user.name", "control character %U", r)
		}
	}
	return nil
}

func checkIP(s string, ferry bool) error {
	if len(s) > MaxIPLen {
		return malformed("user.ip", "%d bytes exceeds %d", len(s), MaxIPLen)
	}
	if ferry {
		if _, err := netip.ParseAddr(s); err != nil {
			return malformed("user.ip", "%q is not an IP address", s)
		}
		return nil
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return malformed("user.ip", "control character %U", r)
		}
	}
	return nil
}

func checkList(field string, list []string) error {
	if len(list) > MaxListEntries {
		return malformed(field, "%d entries exceeds %d", len(list), MaxListEntries)
	}
	for i, e := range list {
		if e == "" || len(e) > MaxListEntryLen {
			return malformed(fmt.Sprintf("%s[%d]", field, i), "length %d, want 1..%d", len(e), MaxListEntryLen)
		}
		for j := 0; j < len(e); j++ {
			c := e[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '/' || c == '_' || c == '-') {
				return malformed(fmt.Sprintf("%s[%d]", field, i), "%q: character %q not in [a-z0-9./_-]", e, c)
			}
		}
	}
	return nil
}
