package jsonchunk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Defaults of the options.
const (
	// DefaultMode is the mode a sender offers first and a receiver picks
	// when the sender allows it.
	DefaultMode = ModeFast
	// DefaultChunkSize is the chunk size in fast mode.
	DefaultChunkSize = 1 << 20
	// DefaultStrictChunkSize is the chunk size in strict mode, where every
	// byte costs base64 and JSON work on both sides: 64 KiB keeps frames
	// small and acknowledgements frequent. The seed's own is 1 KiB.
	DefaultStrictChunkSize = 64 << 10
	// DefaultWindow is how many chunks may be unacknowledged at once.
	DefaultWindow = 16
	// MaxWindow is the largest window accepted.
	MaxWindow = 1024
	// DefaultRetryInterval is how long the sender waits for the answer to
	// AUTHENTICATION before it sends it again.
	DefaultRetryInterval = 2 * time.Second
	// DefaultRetries is how many times AUTHENTICATION is sent in all.
	DefaultRetries = 5
	// DefaultAckTimeout is how long the sender waits for the next
	// acknowledgement (or for a chunk write) before it gives up the
	// connection.
	DefaultAckTimeout = time.Minute
	// DefaultVerifyWait is how long a receiver that found a hash mismatch
	// waits for the sender to name the differing bytes.
	DefaultVerifyWait = 5 * time.Second
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: []sdk.ConfigField{
	{
		Name: "mode", Type: "string", Default: DefaultMode,
		Doc: `"fast" (offer and accept raw chunk bytes after each TRANSFER frame, falling back to strict with a peer that does not) or "strict" (only the seed's wire: base64 data in the JSON).`,
	},
	{
		Name: "chunk_size", Type: "int", Default: strconv.Itoa(DefaultChunkSize),
		Doc: "Bytes of file content per TRANSFER in fast mode, 1 to 16777216.",
	},
	{
		Name: "strict_chunk_size", Type: "int", Default: strconv.Itoa(DefaultStrictChunkSize),
		Doc: "Bytes of file content per TRANSFER in strict mode, 1 to 8388608 (the seed uses 1024).",
	},
	{
		Name: "window", Type: "int", Default: strconv.Itoa(DefaultWindow),
		Doc: "Chunks a sender may have sent and not yet seen acknowledged, 1 to 1024; a receiver's own window caps the sender's. A cut connection resends at most window × chunk size bytes.",
	},
	{
		Name: "retry_interval", Type: "duration", Default: DefaultRetryInterval.String(),
		Doc: "How long the sender waits for the RESPONSE to its AUTHENTICATION before it sends it again.",
	},
	{
		Name: "retries", Type: "int", Default: strconv.Itoa(DefaultRetries),
		Doc: "How many times the sender sends AUTHENTICATION in all before it gives up with \"request not processed\".",
	},
	{
		Name: "ack_timeout", Type: "duration", Default: DefaultAckTimeout.String(),
		Doc: "How long one side waits for the other before it gives up the connection (the transfer resumes on the next): the sender for an acknowledgement when its window is full, either side for a write, the receiver for the sender's next message.",
	},
	{
		Name: "verify_wait", Type: "duration", Default: DefaultVerifyWait.String(),
		Doc: "How long a receiver whose file failed its SHA-256 check waits for the sender to name the differing bytes.",
	},
}}

// Config is the protocol's configuration: what Configure decodes from
// JSON, or what [Protocol.SetConfig] sets in Go. Zero fields take their
// defaults.
type Config struct {
	// Mode is ModeFast or ModeStrict.
	Mode string
	// ChunkSize is the chunk size in fast mode, at most MaxChunkSize.
	ChunkSize int
	// StrictChunkSize is the chunk size in strict mode, at most
	// MaxStrictChunkSize.
	StrictChunkSize int
	// Window is how many chunks may be unacknowledged at once.
	Window int
	// RetryInterval is how long the sender waits for the answer to
	// AUTHENTICATION before it sends it again.
	RetryInterval time.Duration
	// Retries is how many times AUTHENTICATION is sent in all.
	Retries int
	// AckTimeout bounds the sender's wait for the next acknowledgement, and
	// each chunk's write.
	AckTimeout time.Duration
	// VerifyWait bounds the receiver's wait for the sender's range after
	// a hash mismatch.
	VerifyWait time.Duration
}

// DefaultConfig returns the configuration with every option at its default.
func DefaultConfig() Config {
	return Config{
		Mode:            DefaultMode,
		ChunkSize:       DefaultChunkSize,
		StrictChunkSize: DefaultStrictChunkSize,
		Window:          DefaultWindow,
		RetryInterval:   DefaultRetryInterval,
		Retries:         DefaultRetries,
		AckTimeout:      DefaultAckTimeout,
		VerifyWait:      DefaultVerifyWait,
	}
}

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Mode = cmp.Or(c.Mode, d.Mode)
	c.ChunkSize = cmp.Or(c.ChunkSize, d.ChunkSize)
	c.StrictChunkSize = cmp.Or(c.StrictChunkSize, d.StrictChunkSize)
	c.Window = cmp.Or(c.Window, d.Window)
	c.RetryInterval = cmp.Or(c.RetryInterval, d.RetryInterval)
	c.Retries = cmp.Or(c.Retries, d.Retries)
	c.AckTimeout = cmp.Or(c.AckTimeout, d.AckTimeout)
	c.VerifyWait = cmp.Or(c.VerifyWait, d.VerifyWait)
	return c
}

// Validate checks c after zero fields took their defaults. Errors wrap
// sdk.ErrInvalidConfig and name the option.
func (c Config) Validate() error {
	c = c.withDefaults()
	var err error
	switch {
	case c.Mode != ModeFast && c.Mode != ModeStrict:
		err = fmt.Errorf("mode: %q, want %q or %q", c.Mode, ModeFast, ModeStrict)
	case c.ChunkSize < 1 || c.ChunkSize > MaxChunkSize:
		err = fmt.Errorf("chunk_size: %d, want 1 to %d", c.ChunkSize, MaxChunkSize)
	case c.StrictChunkSize < 1 || c.StrictChunkSize > MaxStrictChunkSize:
		err = fmt.Errorf("strict_chunk_size: %d, want 1 to %d", c.StrictChunkSize, MaxStrictChunkSize)
	case c.Window < 1 || c.Window > MaxWindow:
		err = fmt.Errorf("window: %d, want 1 to %d", c.Window, MaxWindow)
	case c.RetryInterval < 0:
		err = fmt.Errorf("retry_interval: negative duration %v", c.RetryInterval)
	case c.Retries < 1:
		err = fmt.Errorf("retries: %d, want at least 1", c.Retries)
	case c.AckTimeout < 0:
		err = fmt.Errorf("ack_timeout: negative duration %v", c.AckTimeout)
	case c.VerifyWait < 0:
		err = fmt.Errorf("verify_wait: negative duration %v", c.VerifyWait)
	}
	return lifecycle.InvalidConfig(Name, err)
}

// chunkSize returns the chunk size of mode.
func (c Config) chunkSize(mode string) int {
	if mode == ModeStrict {
		return c.StrictChunkSize
	}
	return c.ChunkSize
}

// parseConfig decodes the JSON object the host passes to Configure. Keys
// not in the schema and values of the wrong form are errors wrapping
// sdk.ErrInvalidConfig that name the key. Missing keys and JSON null take
// the default.
func parseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	err := lifecycle.DecodeConfig(Name, raw, schema, func(key string, val json.RawMessage) (err error) {
		switch key {
		case "mode":
			err = json.Unmarshal(val, &c.Mode)
			if err == nil && c.Mode != ModeFast && c.Mode != ModeStrict {
				err = fmt.Errorf("%q is neither %q nor %q", c.Mode, ModeFast, ModeStrict)
			}
		case "chunk_size":
			c.ChunkSize, err = sdk.ParseInt(val, 1, MaxChunkSize)
		case "strict_chunk_size":
			c.StrictChunkSize, err = sdk.ParseInt(val, 1, MaxStrictChunkSize)
		case "window":
			c.Window, err = sdk.ParseInt(val, 1, MaxWindow)
		case "retry_interval":
			c.RetryInterval, err = sdk.ParseDuration(val, false)
		case "retries":
			c.Retries, err = sdk.ParseInt(val, 1, math.MaxInt32)
		case "ack_timeout":
			c.AckTimeout, err = sdk.ParseDuration(val, false)
		case "verify_wait":
			c.VerifyWait, err = sdk.ParseDuration(val, false)
		}
		return err
	})
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}
