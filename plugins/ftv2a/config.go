package ftv2a

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
	// DefaultRetryInterval is how long the sender waits for SEND_ACK before
	// it sends FILE_SENDREQUEST again.
	DefaultRetryInterval = 2 * time.Second
	// DefaultRetries is how many times FILE_SENDREQUEST is sent in all.
	DefaultRetries = 5
	// DefaultChunkSize is the FILE_DATA chunk size of the sender.
	DefaultChunkSize = DefaultMaxData
	// DefaultCommitBytes is how many bytes the receiver writes at most
	// between two PartFile.Commit calls.
	DefaultCommitBytes = 16 << 20
	// DefaultCommitInterval is how long the receiver waits at most between
	// two PartFile.Commit calls while data arrives.
	DefaultCommitInterval = time.Second
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: []sdk.ConfigField{
	{
		Name: "retry_interval", Type: "duration", Default: DefaultRetryInterval.String(),
		Doc: "How long the sender waits for the receiver's SEND_ACK before it sends the FILE_SENDREQUEST again.",
	},
	{
		Name: "retries", Type: "int", Default: strconv.Itoa(DefaultRetries),
		Doc: "How many times the sender sends a FILE_SENDREQUEST in all before it gives up with \"request not processed\".",
	},
	{
		Name: "chunk_size", Type: "int", Default: strconv.Itoa(DefaultChunkSize),
		Doc: "Bytes of file content per FILE_DATA packet the sender writes, 1 to 1048576.",
	},
	{
		Name: "commit_bytes", Type: "int", Default: strconv.Itoa(DefaultCommitBytes),
		Doc: "The receiver makes received bytes durable (PartFile.Commit) at least every this many bytes, and never holds more than this many written and not durable: what a cut can cost in bytes sent again.",
	},
	{
		Name: "commit_interval", Type: "duration", Default: DefaultCommitInterval.String(),
		Doc: "The receiver makes received bytes durable (PartFile.Commit) at least this often while data arrives.",
	},
}}

// Config is the protocol's configuration: what Configure decodes from
// JSON, or what [WithConfig] sets in Go. Zero fields take their defaults.
type Config struct {
	// RetryInterval is how long the sender waits for SEND_ACK before it
	// repeats the FILE_SENDREQUEST.
	RetryInterval time.Duration
	// Retries is how many times FILE_SENDREQUEST is sent in all.
	Retries int
	// ChunkSize is the FILE_DATA chunk size, at most [MaxDataLimit].
	ChunkSize int
	// CommitBytes bounds the bytes received between two commits, and the
	// bytes written but not yet committed.
	CommitBytes int64
	// CommitInterval bounds the time between two commits while data
	// arrives.
	CommitInterval time.Duration
}

// DefaultConfig returns the configuration with every option at its default.
func DefaultConfig() Config {
	return Config{
		RetryInterval:  DefaultRetryInterval,
		Retries:        DefaultRetries,
		ChunkSize:      DefaultChunkSize,
		CommitBytes:    DefaultCommitBytes,
		CommitInterval: DefaultCommitInterval,
	}
}

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.RetryInterval = cmp.Or(c.RetryInterval, d.RetryInterval)
	c.Retries = cmp.Or(c.Retries, d.Retries)
	c.ChunkSize = cmp.Or(c.ChunkSize, d.ChunkSize)
	c.CommitBytes = cmp.Or(c.CommitBytes, d.CommitBytes)
	c.CommitInterval = cmp.Or(c.CommitInterval, d.CommitInterval)
	return c
}

// Validate checks c after zero fields took their defaults. Errors wrap
// sdk.ErrInvalidConfig and name the option.
func (c Config) Validate() error {
	c = c.withDefaults()
	var err error
	switch {
	case c.RetryInterval < 0:
		err = fmt.Errorf("retry_interval: negative duration %v", c.RetryInterval)
	case c.Retries < 1:
		err = fmt.Errorf("retries: %d, want at least 1", c.Retries)
	case c.ChunkSize < 1 || c.ChunkSize > MaxDataLimit:
		err = fmt.Errorf("chunk_size: %d, want 1 to %d", c.ChunkSize, MaxDataLimit)
	case c.CommitBytes < 1:
		err = fmt.Errorf("commit_bytes: %d, want at least 1", c.CommitBytes)
	case c.CommitInterval < 0:
		err = fmt.Errorf("commit_interval: negative duration %v", c.CommitInterval)
	}
	return lifecycle.InvalidConfig(Name, err)
}

// parseConfig decodes the JSON object the host passes to Configure. Keys
// not in the schema and values of the wrong form are errors wrapping
// sdk.ErrInvalidConfig that name the key. Missing keys and JSON null take
// the default.
func parseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	err := lifecycle.DecodeConfig(Name, raw, schema, func(key string, val json.RawMessage) (err error) {
		switch key {
		case "retry_interval":
			c.RetryInterval, err = sdk.ParseDuration(val, false)
		case "retries":
			c.Retries, err = sdk.ParseInt(val, 1, math.MaxInt32)
		case "chunk_size":
			c.ChunkSize, err = sdk.ParseInt(val, 1, MaxDataLimit)
		case "commit_bytes":
			var n int
			n, err = sdk.ParseInt(val, 1, 1<<50)
			c.CommitBytes = int64(n)
		case "commit_interval":
			c.CommitInterval, err = sdk.ParseDuration(val, false)
		}
		return err
	})
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}
