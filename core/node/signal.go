package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/seal"
	"github.com/ferry-p2p/ferry/sdk"
)

// maxClockSkew bounds how old (or how far in the future) a consent
// message may be; older ones are replays or stale.
const maxClockSkew = 10 * time.Minute

// ErrMessageTooLarge is returned when a consent message does not fit one
// sealed signaling message (sdk.MaxEnvelopePayload): an ASK for too many
// files.
var ErrMessageTooLarge = errors.New("signaling message too large")

// sendMessage seals m for peer and hands it to the first signaling
// instance that takes it.
func (n *Node) sendMessage(ctx context.Context, peer sdk.PeerID, m *connect.Message) error {
	plain, err := connect.EncodeMessage(m)
	if err != nil {
		return err
	}
	// A resumed transfer's ASK goes to the instance holding its journal,
	// where a signaling plugin can tell instances apart.
	var instance string
	if m.Type == connect.TypeAsk {
		instance = m.Ferry.For
	}
	err = n.sendSealed(ctx, peer, plain, instance, m.Type)
	if errors.Is(err, ErrMessageTooLarge) {
		return fmt.Errorf("%w (%d files; send fewer at a time)", err, len(m.Files))
	}
	return err
}

// sendSealed seals plain for peer and hands it to the first signaling
// instance that takes it; what names the message in errors.
func (n *Node) sendSealed(ctx context.Context, peer sdk.PeerID, plain []byte, instance, what string) error {
	sealed, err := seal.Seal(n.id.PrivateKey(), peer, plain)
	if err != nil {
		return err
	}
	if len(sealed) > sdk.MaxEnvelopePayload {
		return fmt.Errorf("%s of %d bytes sealed is over the %d-byte limit of one signaling message: %w", what, len(sealed), sdk.MaxEnvelopePayload, ErrMessageTooLarge)
	}
	var errs []error
	for _, s := range n.signaling {
		err := s.Send(ctx, sdk.Envelope{From: n.id.ID, To: peer, Payload: sealed, Instance: instance})
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
	}
	if len(errs) == 0 {
		return errors.New("no signaling plugin configured")
	}
	return fmt.Errorf("send %s to %s: %w", what, peer.Short(), errors.Join(errs...))
}

// receiveLoop opens each envelope and routes it: ASKs to the receiving
// side, answers to the sender waiting for them. Anything that does not
// open or check out is dropped with one log line.
func (n *Node) receiveLoop(name string, ch <-chan sdk.Envelope) {
	defer n.wg.Done()
	for env := range ch {
		from, plain, err := seal.Open(n.id.PrivateKey(), env.Payload)
		if err != nil {
			n.log.Warn("dropped signaling message", "via", name, "from", env.From, "err", err)
			continue
		}
		if from != env.From {
			n.log.Warn("dropped signaling message: sealed by another peer than the one that sent it", "via", name, "sealed_by", from, "sent_by", env.From)
			continue
		}
		if rest, ok := bytes.CutPrefix(plain, linkMagic); ok {
			n.onLink(from, rest)
			continue
		}
		m, err := connect.DecodeMessage(plain)
		if err != nil {
			n.log.Warn("dropped signaling message", "via", name, "from", from, "err", err)
			continue
		}
		if m.SenderID() != from && (m.Type == connect.TypeAsk || m.Type == connect.TypeCandidates) {
			n.log.Warn("dropped "+m.Type+": names another sender than the one that sealed it", "from", from, "sender", m.Sender.ID)
			continue
		}
		if skew := time.Since(m.SentAt()); skew > maxClockSkew || skew < -maxClockSkew {
			n.log.Warn("dropped signaling message: too old or from the future", "from", from, "type", m.Type, "time", m.Time)
			continue
		}
		switch m.Type {
		case connect.TypeAsk:
			if srv := n.holdAsk(from, m); srv != nil {
				srv.onAsk(from, m)
			}
		case connect.TypeCandidates:
			srv := n.server()
			if srv == nil || m.Receiver.ID != n.id.ID.String() {
				n.log.Debug("CANDIDATES ignored: not receiving here", "from", from, "transfer", m.ID)
				continue
			}
			srv.onCandidates(from, m)
		default:
			if m.Receiver == nil || m.Receiver.ID != from.String() {
				n.log.Warn("dropped answer: receiver field does not match the sealing peer", "from", from, "type", m.Type)
				continue
			}
			n.mu.Lock()
			ch := n.answers[m.ID]
			n.mu.Unlock()
			if ch == nil {
				n.log.Debug("answer for no waiting transfer", "from", from, "transfer", m.ID, "type", m.Type)
				continue
			}
			select {
			case ch <- m:
			default:
			}
		}
	}
}

// messenger carries a connection's consent messages over the node's
// signaling plugins.
type messenger struct{ n *Node }

func (m messenger) Send(ctx context.Context, peer sdk.PeerID, msg *connect.Message) error {
	return m.n.sendMessage(ctx, peer, msg)
}

func (m messenger) Expect(id string) (<-chan *connect.Message, func()) {
	return m.n.expectAnswer(id)
}

// holdAsk returns the receiving side for an ASK, or, before Serve, keeps
// the ASK for it: a receiver announces itself at Start, so a sender may ask
// before Serve is called. A process that never serves drops them.
func (n *Node) holdAsk(from sdk.PeerID, m *connect.Message) *server {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serve != nil {
		return n.serve
	}
	if len(n.early) == earlyAskMax {
		n.early = n.early[1:]
	}
	n.early = append(n.early, earlyAsk{at: time.Now(), from: from, msg: m})
	n.log.Debug("ASK held: this process does not receive yet", "from", from, "transfer", m.ID)
	return nil
}

// server returns the receiving side Serve set up, or nil.
func (n *Node) server() *server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.serve
}

// expectAnswer registers a waiter for transfer id's answers; call the
// returned function to drop it.
func (n *Node) expectAnswer(id string) (<-chan *connect.Message, func()) {
	ch := make(chan *connect.Message, 4)
	n.mu.Lock()
	n.answers[id] = ch
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		if n.answers[id] == ch {
			delete(n.answers, id)
		}
		n.mu.Unlock()
	}
}
