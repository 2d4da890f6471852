package dht

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// BootstrapOptions configures [NewBootstrapNode].
type BootstrapOptions struct {
	// Listen lists the libp2p multiaddrs to listen on (TCP). Empty means
	// [DefaultListen], loopback only.
	Listen []string
	// Bootstrap lists multiaddrs (ending in /p2p/<id>) of other DHT nodes
	// to join through; empty for the first node of a network.
	Bootstrap []string
	// ProtocolPrefix is the private DHT's protocol prefix; empty means
	// [DefaultProtocolPrefix]. Every node of one network uses the same.
	ProtocolPrefix string
	// KeyFile, when not empty, is where the node's libp2p ed25519 key is
	// kept, so that its multiaddr stays the same across runs: read when it
	// exists, else created with mode 0600. A key file that others may read
	// is refused. Empty means a fresh key each run.
	KeyFile string
	// MaxConnections bounds the node's connections; zero means
	// [DefaultMaxConnections].
	MaxConnections int
	// Logger receives the node's state changes and refused input; nil
	// means slog.Default().
	Logger *slog.Logger
	// NoRelay turns off the signaling relay a bootstrap node serves by
	// default (libp2p circuit relay v2, limited to signaling: see the
	// relay_service option), through which peers behind NAT are reached.
	NoRelay bool
}

// BootstrapNode is a DHT-only node: it serves the Ferry DHT (server mode,
// with the Ferry record [Validator]), stores records for others and helps
// nodes join, but announces nothing and carries no signaling or transfer.
// `ferry dht bootstrap` runs one. Its methods are safe to call
// concurrently.
type BootstrapNode struct {
	n         *node
	closeOnce sync.Once
	closeErr  error
}

// NewBootstrapNode starts a bootstrap node. It returns once the node
// listens; joining through opts.Bootstrap happens in the background, so
// unreachable peers delay nothing (the log says "no DHT peers"). ctx
// bounds only the start.
func NewBootstrapNode(ctx context.Context, opts BootstrapOptions) (*BootstrapNode, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dht: bootstrap node: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	listen := opts.Listen
	if len(listen) == 0 {
		listen = []string{DefaultListen}
	}
	if err := checkListen(listen); err != nil {
		return nil, fmt.Errorf("dht: bootstrap node: listen: %w", err)
	}
	boot, err := parseAddrInfos(opts.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("dht: bootstrap node: bootstrap: %w", err)
	}
	prefix, err := checkPrefix(opts.ProtocolPrefix)
	if err != nil {
		return nil, fmt.Errorf("dht: bootstrap node: protocol prefix: %w", err)
	}
	maxConns := opts.MaxConnections
	if maxConns == 0 {
		maxConns = DefaultMaxConnections
	}
	if maxConns < minMaxConnections {
		return nil, fmt.Errorf("dht: bootstrap node: max connections %d, at least %d", maxConns, minMaxConnections)
	}
	key, err := LoadOrCreateKey(opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("dht: bootstrap node: %w", err)
	}
	n, err := newNode(nodeOptions{
		key: key, listen: listen, bootstrap: boot, bootstrapText: opts.Bootstrap, prefix: prefix, maxConns: maxConns,
		validator: validators(refuser{log: log, drops: &dropLog{}}), log: log,
		relayService: !opts.NoRelay,
	})
	if err != nil {
		return nil, err
	}
	n.start()
	return &BootstrapNode{n: n}, nil
}

// Addrs returns the node's multiaddrs, each ending in /p2p/<peer id>: what
// other nodes put in their bootstrap list.
func (b *BootstrapNode) Addrs() []string { return b.n.addrs() }

// ID returns the node's libp2p peer ID.
func (b *BootstrapNode) ID() string { return b.n.h.ID().String() }

// Peers returns how many DHT peers the node's routing table holds.
func (b *BootstrapNode) Peers() int { return b.n.kad.RoutingTable().Size() }

// Close stops the node. Calls after the first return its result again.
func (b *BootstrapNode) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.n.close() })
	return b.closeErr
}

// LoadOrCreateKey returns the libp2p ed25519 key kept in path, creating
// it (mode 0600, and its folder 0700) when missing. An empty path gives a
// fresh key that is not kept. A key file that group or others may read,
// or that does not hold an ed25519 key, is refused.
func LoadOrCreateKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		return k, err
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("key file %s has mode %v: others may read it; chmod 600 it", path, st.Mode().Perm())
		}
		k, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		if k.Type() != crypto.Ed25519 {
			return nil, fmt.Errorf("key file %s holds a %v key, want ed25519", path, k.Type())
		}
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("key file: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	b, err = crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}
