package lan

import (
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// windowBits is how many recent Seq values a replay window remembers.
const windowBits = 4096

// window remembers which Seq values of one sender were seen: the highest,
// and which of the windowBits below it. Announcements (UDP, possibly over
// IPv4 and IPv6 at once) and SIGNAL frames (TCP) of one sender share the
// counter and may arrive out of order, so a strictly increasing check
// would drop good messages; a window drops only repeats and messages too
// old to tell.
type window struct {
	started bool
	max     uint64
	bits    [windowBits / 64]uint64
}

func (w *window) bit(seq uint64) (int, uint64) {
	i := seq % windowBits
	return int(i / 64), 1 << (i % 64)
}

// accept records seq. fresh is false for a Seq seen before or older than
// the window; newest is true when seq is the highest so far.
func (w *window) accept(seq uint64) (fresh, newest bool) {
	switch {
	case !w.started:
		w.started, w.max = true, seq
	case seq > w.max:
		if seq-w.max >= windowBits {
			w.bits = [windowBits / 64]uint64{}
		} else {
			for s := w.max + 1; s <= seq; s++ {
				i, m := w.bit(s)
				w.bits[i] &^= m
			}
		}
		w.max = seq
	case w.max-seq >= windowBits:
		return false, false
	default:
		i, m := w.bit(seq)
		if w.bits[i]&m != 0 {
			return false, false
		}
		w.bits[i] |= m
		return true, false
	}
	i, m := w.bit(seq)
	w.bits[i] |= m
	return true, true
}

// replayKey names one sender: a peer ID and the delegated key it signed
// with. A peer that restarts gets a new delegated key, and its counter
// starts again.
type replayKey struct {
	id  sdk.PeerID
	key [32]byte
}

// replayState is what is remembered of one sender.
type replayState struct {
	key     replayKey
	win     window
	left    uint64    // Seq of the LEAVE applied, 0 if none
	expires time.Time // the certificate's expiry: forgotten then
	used    time.Time
}

// replayStateLocked returns the state of the sender (id, cert.Key),
// making it if needed; when the map is full the least recently used entry
// is forgotten. p.mu is held.
func (p *Plugin) replayStateLocked(id sdk.PeerID, cert sdk.Certificate, now time.Time) *replayState {
	k := replayKey{id: id}
	copy(k.key[:], cert.Key)
	st := p.replay[k]
	if st == nil {
		if len(p.replay) >= maxReplayKeys {
			var oldest *replayState
			for _, s := range p.replay {
				if oldest == nil || s.used.Before(oldest.used) {
					oldest = s
				}
			}
			delete(p.replay, oldest.key)
		}
		st = &replayState{key: k, expires: cert.Expires}
		p.replay[k] = st
	}
	st.used = now
	return st
}
