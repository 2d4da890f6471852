package dht

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	// senderTTL is how long the node answers a peer over the connection
	// its last frame came on, without looking its record up.
	senderTTL = 2 * time.Minute
	// maxSenders bounds the peers remembered so.
	maxSenders = 256
)

// sender is the libp2p peer whose connection a device's frame came on.
type sender struct {
	pid peer.ID
	at  time.Time
}

// rememberSender notes that a checked frame of device from came from the
// libp2p peer pid (its delegated key), so that an answer can go back over
// that connection. The oldest entry goes when the table is full.
func (s *session) rememberSender(from sdk.PeerID, pid peer.ID) {
	s.sendersMu.Lock()
	defer s.sendersMu.Unlock()
	if s.senders == nil {
		s.senders = make(map[sdk.PeerID]sender)
	}
	if _, ok := s.senders[from]; !ok && len(s.senders) >= maxSenders {
		var oldest sdk.PeerID
		var at time.Time
		for id, e := range s.senders {
			if at.IsZero() || e.at.Before(at) {
				oldest, at = id, e.at
			}
		}
		delete(s.senders, oldest)
	}
	s.senders[from] = sender{pid: pid, at: time.Now()}
}

// recentSender returns the libp2p peer device id last signaled from,
// within senderTTL.
func (s *session) recentSender(id sdk.PeerID) (peer.ID, bool) {
	s.sendersMu.Lock()
	defer s.sendersMu.Unlock()
	e, ok := s.senders[id]
	if !ok || time.Since(e.at) > senderTTL {
		return "", false
	}
	return e.pid, true
}
