package lan

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// Decode parses and checks one message: a UDP datagram or the body of a
// TCP frame. Input over [MaxFrame] bytes is refused before parsing, and an
// announcement over [MaxDatagram] bytes as soon as its type is known.
// Unknown fields are ignored, and so are fields that do not belong to the
// message's type ("user" on SIGNAL, "to" and "payload" on announcements).
// Errors wrap [ErrMalformed]. Decode does not check the signature: call
// [Verify].
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxFrame {
		return nil, malformed("message", "%d bytes exceeds %d", len(b), MaxFrame)
	}
	var w wireMsg
	if err := json.Unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "message"
			}
			return nil, malformed(field, "JSON %s where %s expected", te.Value, jsonKind(te.Type))
		}
		return nil, malformed("message", "not a JSON object: %v", err)
	}
	m := &Message{Type: Type(w.Type)}
	if !m.Type.known() {
		return nil, malformed("type", "%q is not JOIN, PING, LEAVE or SIGNAL", w.Type)
	}
	if m.Type.IsAnnouncement() && len(b) > MaxDatagram {
		return nil, malformed("message", "%s of %d bytes exceeds %d", m.Type, len(b), MaxDatagram)
	}
	if m.Type.IsAnnouncement() {
		if w.User == nil {
			return nil, malformed("user", "missing")
		}
		m.User = User{Name: w.User.Name, IP: w.User.IP}
	} else {
		to, err := sdk.ParsePeerID(w.To)
		if err != nil {
			return nil, malformed("to", "%v", err)
		}
		m.To = to
		if m.Payload, err = b64.DecodeString(w.Payload); err != nil {
			return nil, malformed("payload", "not base64: %v", err)
		}
		if len(m.Payload) == 0 {
			m.Payload = nil
		}
	}
	if w.Ferry != nil {
		h, err := decodeHeader(w.Ferry)
		if err != nil {
			return nil, err
		}
		m.Ferry = h
	}
	if err := check(m); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonKind names the JSON kind a Go type decodes from, for error messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	}
	return t.Kind().String()
}

func decodeHeader(w *wireFerry) (*Header, error) {
	h := &Header{}
	var err error
	if h.V, err = parseUint("ferry.v", w.V, 64, true); err != nil {
		return nil, err
	}
	if h.ID, err = sdk.ParsePeerID(w.ID); err != nil {
		return nil, malformed("ferry.id", "%v", err)
	}
	port, err := parseUint("ferry.port", w.Port, 64, true)
	if err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, malformed("ferry.port", "%d out of range 1..65535", port)
	}
	h.Port = uint16(port)
	if h.Seq, err = parseUint("ferry.seq", w.Seq, 64, false); err != nil {
		return nil, err
	}
	if h.Cert, err = b64.DecodeString(w.Cert); err != nil {
		return nil, malformed("ferry.cert", "not base64: %v", err)
	}
	if h.Sig, err = b64.DecodeString(w.Sig); err != nil {
		return nil, malformed("ferry.sig", "not base64: %v", err)
	}
	h.Roles, h.Transports, h.Protocols = nilIfEmpty(w.Roles), nilIfEmpty(w.Transports), nilIfEmpty(w.Protocols)
	if len(w.Instance) > MaxInstanceLen || strings.Trim(w.Instance, "0123456789abcdef") != "" {
		return nil, malformed("ferry.instance", "want at most %d characters of [0-9a-f]", MaxInstanceLen)
	}
	h.Instance = w.Instance
	if len(w.Account) > b64.EncodedLen(sdk.MaxAccountLen) {
		return nil, malformed("ferry.account", "%d characters exceeds %d", len(w.Account), b64.EncodedLen(sdk.MaxAccountLen))
	}
	if w.Account != "" {
		if h.Account, err = b64.DecodeString(w.Account); err != nil {
			return nil, malformed("ferry.account", "not base64: %v", err)
		}
	}
	return h, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// parseUint parses a raw JSON number as a decimal integer: no sign,
// fraction, exponent or quotes.
func parseUint(field string, raw json.RawMessage, bits int, required bool) (uint64, error) {
	if len(raw) == 0 {
		if required {
			return 0, malformed(field, "missing")
		}
		return 0, nil
	}
	v, err := strconv.ParseUint(string(raw), 10, bits)
	if err != nil {
		return 0, malformed(field, "%.32s is not an unsigned integer", raw)
	}
	return v, nil
}
