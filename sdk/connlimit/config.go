package connlimit

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ferry-p2p/ferry/sdk"
)

// MaxPendingLimit bounds the max_pending option, so that a typo cannot ask
// for more descriptors than a process gets.
const MaxPendingLimit = 65536

// ConfigFields returns the config schema fields of the limits, as a plugin
// that gates a listener offers them: handshake_timeout, max_pending and
// max_pending_per_source, with the defaults of [DefaultLimits].
// handshakeDoc and pendingDoc say what the handshake is and what a pending
// connection has not done yet, in the plugin's terms.
func ConfigFields(handshakeDoc, pendingDoc string) []sdk.ConfigField {
	d := DefaultLimits()
	return []sdk.ConfigField{
		{Name: "handshake_timeout", Type: "duration", Default: d.HandshakeTimeout.String(), Doc: handshakeDoc},
		{Name: "max_pending", Type: "int", Default: strconv.Itoa(d.MaxPending), Doc: pendingDoc},
		{
			Name: "max_pending_per_source", Type: "int", Default: strconv.Itoa(d.MaxPendingPerSource),
			Doc: "Such connections from one IPv4 address or IPv6 /64, at most; one more closes that source's oldest. At most max_pending.",
		},
	}
}

// Set parses val into the limit that key, one of the [ConfigFields], names.
// ok is false for any other key, which Set leaves to the caller.
func (l *Limits) Set(key string, val json.RawMessage) (ok bool, err error) {
	switch key {
	case "handshake_timeout":
		l.HandshakeTimeout, err = sdk.ParseDuration(val, false)
	case "max_pending":
		l.MaxPending, err = sdk.ParseInt(val, 1, MaxPendingLimit)
	case "max_pending_per_source":
		l.MaxPendingPerSource, err = sdk.ParseInt(val, 1, MaxPendingLimit)
	default:
		return false, nil
	}
	return true, err
}

// CheckConfig returns an error wrapping sdk.ErrInvalidConfig, naming the
// plugin, when the limits set from a config do not fit together.
func (l Limits) CheckConfig(plugin string) error {
	if l.MaxPendingPerSource > l.MaxPending {
		return fmt.Errorf("%s config: max_pending_per_source %d exceeds max_pending %d: %w",
			plugin, l.MaxPendingPerSource, l.MaxPending, sdk.ErrInvalidConfig)
	}
	return nil
}
