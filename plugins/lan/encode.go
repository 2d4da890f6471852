package lan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Encode checks m by the rules of [Decode] and returns its encoding: a
// datagram of at most [MaxDatagram] bytes for an announcement, a frame body
// of at most [MaxFrame] bytes for SIGNAL. A Ferry message must be signed
// first (see [Sign]); the encoding is compact JSON with fields in a fixed
// order.
func Encode(m *Message) ([]byte, error) {
	if err := check(m); err != nil {
		return nil, err
	}
	w := wireMsg{Type: string(m.Type)}
	if m.Type.IsAnnouncement() {
		w.User = &wireUser{Name: m.User.Name, IP: m.User.IP}
	} else {
		w.To = m.To.String()
		w.Payload = b64.EncodeToString(m.Payload)
	}
	if h := m.Ferry; h != nil {
		w.Ferry = &wireFerry{
			V:          strconv.AppendUint(nil, h.V, 10),
			ID:         h.ID.String(),
			Port:       strconv.AppendUint(nil, uint64(h.Port), 10),
			Roles:      h.Roles,
			Transports: h.Transports,
			Protocols:  h.Protocols,
			Cert:       b64.EncodeToString(h.Cert),
			Sig:        b64.EncodeToString(h.Sig),
			Instance:   h.Instance,
		}
		if len(h.Account) > 0 {
			w.Ferry.Account = b64.EncodeToString(h.Account)
		}
		if h.Seq != 0 {
			w.Ferry.Seq = strconv.AppendUint(nil, h.Seq, 10)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("lan: encode: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	limit := MaxFrame
	if m.Type.IsAnnouncement() {
		limit = MaxDatagram
	}
	if len(b) > limit {
		return nil, malformed("message", "%s of %d bytes exceeds %d", m.Type, len(b), limit)
	}
	return b, nil
}
