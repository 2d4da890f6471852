package sdk

import (
	"context"
	"time"
)

// PeerInfo is what discovery knows about one device.
type PeerInfo struct {
	// ID is the device's peer ID. REQUIRED.
	ID PeerID
	// Name is the device's human name, as its owner set it.
	Name string
	// Addrs are addresses the device was seen at or announced, as
	// "host:port" or multiaddr text; a transport decides what it can use.
	Addrs []string
	// Transports, Protocols and Roles list the plugins the device runs.
	Transports []string
	Protocols  []string
	Roles      []string
	// Source names the discovery plugin that found it (e.g. "lan").
	Source string
	// Seen is when the device was last heard of.
	Seen time.Time
	// Expires is when the record goes stale if not renewed; zero means the
	// plugin has no expiry.
	Expires time.Time
	// Instance is the nonce of the process that announced the device,
	// new each time Ferry starts; "" when unknown (an older peer). Two
	// instances of one ID are one identity running twice (a copied
	// FERRY_HOME): a discovery plugin carries it so that the core can
	// tell them apart and warn.
	Instance string
	// Account is the device's account credentials, opaque to plugins: the
	// core encodes and checks them (its certificate signed by an account
	// key, and the newest revocation list of that account it knows). At
	// most [MaxAccountLen] bytes; nil when the device belongs to no
	// account. A discovery plugin carries them as it carries Name, and
	// checks only their length.
	Account []byte
}

// MaxAccountLen is the longest [PeerInfo.Account], in bytes.
const MaxAccountLen = 3 << 10

// PeerEventKind says what happened to a peer.
type PeerEventKind int

// The peer event kinds.
const (
	PeerEventUnknown PeerEventKind = iota
	// PeerJoined: first heard of, or back after leaving or expiring.
	PeerJoined
	// PeerSeen: heard of again; its info may have changed.
	PeerSeen
	// PeerLeft: said goodbye or expired.
	PeerLeft
)

// String returns "joined", "seen", "left" or "unknown".
func (k PeerEventKind) String() string {
	switch k {
	case PeerJoined:
		return "joined"
	case PeerSeen:
		return "seen"
	case PeerLeft:
		return "left"
	}
	return "unknown"
}

// PeerEvent is one change in what discovery knows.
type PeerEvent struct {
	Kind PeerEventKind
	Peer PeerInfo
}

// Discovery finds other devices.
//
// Announce publishes this device (and keeps re-publishing it until the next
// Announce or Close). Watch streams events about other devices; the channel
// is closed when ctx ends or the plugin closes. Lookup asks for one device
// and returns [ErrNotFound] when it is not known. All methods are safe to
// call concurrently.
type Discovery interface {
	Plugin
	// Announce publishes self. Calling it again replaces the record.
	Announce(ctx context.Context, self PeerInfo) error
	// Watch returns a channel of peer events until ctx ends.
	Watch(ctx context.Context) (<-chan PeerEvent, error)
	// Lookup returns the freshest info about one device.
	Lookup(ctx context.Context, id PeerID) (PeerInfo, error)
}
