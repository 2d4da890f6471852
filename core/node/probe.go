package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// probeEchoSize is the size of the probe's echo, and probeWait bounds
// the echo on either side.
const (
	probeEchoSize = 64
	probeWait     = 15 * time.Second
)

// ProbeResult is what [Node.Probe] found: the connection's transport and
// route, why it won (and why the others lost), and the round trip of an
// echo over the secured stream.
type ProbeResult struct {
	Transport, Route, Why string
	// Trace tells how the winning transport made its stream (for ice,
	// the candidate pairs checked and their outcomes).
	Trace []string
	// RTT is the time a 64-byte echo took over the secured stream.
	RTT time.Duration
}

// Probe tests a connection to peer without a transfer, as `ferry doctor
// PEER` does: it walks every state of a real connection (discovery,
// signaling, the transport race, the pinned TLS handshake), reporting
// each change to observe, then sends an echo over the secured stream. The
// peer must be receiving, and must answer probes from this device (its
// transfer.auto_accept lists this device, or it accepts everything); else
// the error wraps sdk.ErrRefused with its reason.
func (n *Node) Probe(ctx context.Context, peer sdk.PeerInfo, observe connect.Observer) (ProbeResult, error) {
	d := *n.dialer
	d.Observe = observe
	id := transfer.NewID()
	ask := func(info sdk.PeerInfo) *connect.Message {
		return &connect.Message{
			Type: connect.TypeAsk, ID: id,
			Sender:    connect.User{Name: n.cfg.DeviceName(), ID: n.id.ID.String()},
			Receivers: []connect.User{{Name: info.Name, ID: info.ID.String()}},
			Time:      connect.Now(time.Now()),
			Ferry: connect.Ferry{V: connect.MessageVersion, Transports: n.transports.Names(), Protocols: []string{connect.ProbeProtocol},
				Instance: n.instance, Probe: true},
		}
	}
	res, err := d.Dial(ctx, peer.ID, 1, ask)
	if err != nil {
		return ProbeResult{}, err
	}
	defer res.Conn.Close()
	out := ProbeResult{Transport: res.Transport, Route: res.Route, Why: res.Why, Trace: res.Trace}
	ping := make([]byte, probeEchoSize)
	_, _ = rand.Read(ping)
	_ = res.Conn.SetDeadline(time.Now().Add(probeWait))
	start := time.Now()
	if _, err := res.Conn.Write(ping); err != nil {
		return out, fmt.Errorf("echo over %s: write: %w", res.Transport, err)
	}
	pong := make([]byte, probeEchoSize)
	if _, err := io.ReadFull(res.Conn, pong); err != nil {
		return out, fmt.Errorf("echo over %s: read: %w", res.Transport, err)
	}
	out.RTT = time.Since(start)
	if !bytes.Equal(ping, pong) {
		return out, fmt.Errorf("echo over %s: the peer sent back other bytes than were sent", res.Transport)
	}
	return out, nil
}

// answerProbe answers a probe ASK: from a peer transfers from which are
// accepted without asking, or when the Decider allows it, it makes the
// connection, echoes one message back and closes; else it refuses.
func (s *server) answerProbe(ctx context.Context, from sdk.PeerID, m *connect.Message, base Event) {
	n := s.n
	if !s.auto[from] && !n.autoAccepted(from) {
		if why := s.decide(ctx, Ask{Peer: from, PeerName: m.Sender.Name, Offer: sdk.Offer{TransferID: m.ID}, Probe: true}); why != "" {
			n.log.Info("refused a connection test", "from", from, "reason", why)
			if err := n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Reason: why, Attempt: m.Ferry.Attempt, Probe: true})); err != nil {
				n.log.Debug("could not send REFUSE to a probe", "from", from, "err", err)
			}
			return
		}
	}
	res, err := s.answer(ctx, from, m, connect.Ferry{Protocol: connect.ProbeProtocol, Attempt: m.Ferry.Attempt, Probe: true}, base)
	if err != nil {
		n.log.Warn("a connection test failed", "from", from, "err", err)
		return
	}
	defer res.Conn.Close()
	_ = res.Conn.SetDeadline(time.Now().Add(probeWait))
	buf := make([]byte, probeEchoSize)
	if _, err := io.ReadFull(res.Conn, buf); err != nil {
		n.log.Warn("a connection test failed", "from", from, "transport", res.Transport, "err", fmt.Errorf("echo: %w", err))
		return
	}
	if _, err := res.Conn.Write(buf); err != nil {
		n.log.Warn("a connection test failed", "from", from, "transport", res.Transport, "err", fmt.Errorf("echo: %w", err))
		return
	}
	// Wait for the prober to close, so that the echo is not cut short.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Conn, probeEchoSize))
	n.log.Info("answered a connection test", "from", from, "transport", res.Transport, "route", res.Route)
}
