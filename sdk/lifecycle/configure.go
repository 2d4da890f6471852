package lifecycle

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Meta answers a plugin's Info and ConfigSchema, which the host asks
// before Configure, until the plugin closes; after that both fail with
// an error wrapping [sdk.ErrClosed]. A plugin embeds the one [Describe]
// made.
type Meta struct {
	info   sdk.Info
	schema sdk.ConfigSchema
	closed func() bool
}

// Describe returns the Meta of a plugin: what Info and ConfigSchema
// answer, and closed, which reports whether the plugin was closed.
// info.Name prefixes the errors.
func Describe(info sdk.Info, schema sdk.ConfigSchema, closed func() bool) Meta {
	return Meta{info: info, schema: schema, closed: closed}
}

// Info describes the plugin. It answers before Configure.
func (m Meta) Info(context.Context) (sdk.Info, error) {
	if m.closed() {
		return sdk.Info{}, fmt.Errorf("%s: info: %w", m.info.Name, sdk.ErrClosed)
	}
	info := m.info
	info.Roles = slices.Clone(info.Roles)
	info.APIVersions = slices.Clone(info.APIVersions)
	info.Capabilities = slices.Clone(info.Capabilities)
	return info, nil
}

// ConfigSchema lists the options Configure accepts. It answers before
// Configure.
func (m Meta) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	if m.closed() {
		return sdk.ConfigSchema{}, fmt.Errorf("%s: config schema: %w", m.info.Name, sdk.ErrClosed)
	}
	return sdk.ConfigSchema{Fields: slices.Clone(m.schema.Fields)}, nil
}

// CheckAPIVersion refuses a plugin API major version other than
// [sdk.APIVersion] (0, from a host that does not say, is taken as this
// one) with an error wrapping sdk.ErrUnsupported, prefixed with the
// plugin's name.
func CheckAPIVersion(name string, v int) error {
	if v != 0 && v != sdk.APIVersion {
		return fmt.Errorf("%s: configure: API version %d, want %d: %w", name, v, sdk.APIVersion, sdk.ErrUnsupported)
	}
	return nil
}

// ParseConfig is the first step of a plugin's Configure: it checks req's
// API version ([CheckAPIVersion]) and decodes its options with parse.
func ParseConfig[C any](name string, req sdk.ConfigureRequest, parse func(raw []byte) (C, error)) (C, error) {
	if err := CheckAPIVersion(name, req.APIVersion); err != nil {
		var zero C
		return zero, err
	}
	return parse(req.Config)
}

// DecodeConfig decodes the JSON options of plugin name: it calls set
// with each option raw sets (see [sdk.ConfigValues]: keys the schema does
// not name are refused, null means the default), in the order of the
// schema, and stops at the first error, which it returns as
// "<name> config: <key>: ..." wrapping sdk.ErrInvalidConfig. set decodes
// the value, with [sdk.ParseDuration], [sdk.ParseInt] or its own parser.
func DecodeConfig(name string, raw []byte, schema sdk.ConfigSchema, set func(key string, val json.RawMessage) error) error {
	values, err := sdk.ConfigValues(name, raw, schema)
	if err != nil {
		return err
	}
	for _, v := range values {
		if err := set(v.Name, v.Value); err != nil {
			return fmt.Errorf("%s config: %s: %w: %w", name, v.Name, sdk.ErrInvalidConfig, err)
		}
	}
	return nil
}

// InvalidConfig is the error of a configuration of plugin name that err
// says is wrong: "<name> config: invalid config: <err>", wrapping
// sdk.ErrInvalidConfig and err; nil when err is nil.
func InvalidConfig(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s config: %w: %w", name, sdk.ErrInvalidConfig, err)
}

// CheckDelegation checks that req carries a delegated key the plugin can
// sign with for req.Self: a self ID, a delegation (needs says why one is
// required), a private key of the right size that matches the
// certificate, and a certificate issued by req.Self and valid at now.
// Errors wrap sdk.ErrInvalidConfig and start "<name>: configure:".
func CheckDelegation(name, needs string, req sdk.ConfigureRequest, now time.Time) error {
	d := req.Delegation
	switch {
	case req.Self.IsZero():
		return fmt.Errorf("%s: configure: no self peer ID: %w", name, sdk.ErrInvalidConfig)
	case d == nil:
		return fmt.Errorf("%s: configure: %s: %w", name, needs, sdk.ErrInvalidConfig)
	case len(d.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("%s: configure: delegated key of %d bytes, want %d: %w", name, len(d.Key), ed25519.PrivateKeySize, sdk.ErrInvalidConfig)
	case d.Cert.Issuer != req.Self:
		return fmt.Errorf("%s: configure: the delegation was issued by %s, not by this device %s: %w", name, d.Cert.Issuer.Short(), req.Self.Short(), sdk.ErrInvalidConfig)
	}
	if pub, ok := d.Key.Public().(ed25519.PublicKey); !ok || !pub.Equal(d.Cert.Key) {
		return fmt.Errorf("%s: configure: the delegated key does not match its certificate: %w", name, sdk.ErrInvalidConfig)
	}
	if err := d.Cert.Verify(now); err != nil {
		return fmt.Errorf("%s: configure: delegation: %w: %w", name, sdk.ErrInvalidConfig, err)
	}
	return nil
}

// Wait waits for wg, the plugin's goroutines, until ctx ends; then it
// returns ctx's error. It is the end of a plugin's Close.
func Wait(ctx context.Context, wg *sync.WaitGroup) error {
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
