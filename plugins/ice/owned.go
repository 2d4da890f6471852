package ice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/quic-go/quic-go"
)

// QUIC owns the nominated socket. Once ICE has selected a pair whose local
// side is one of this side's own UDP sockets (host or server-reflexive),
// the ICE agent lets go of that socket and QUIC reads and writes it
// directly: quic-go then batches (sendmmsg with GSO, recvmmsg with GRO)
// and finds the path MTU, which it cannot through pion's per-packet
// net.Conn. A relayed pair keeps QUIC over the ICE conn (the bytes go
// through the TURN client). Late STUN binding requests on the socket (the
// controlling agent's nomination, retransmitted when our answer was lost)
// are answered beside QUIC, from the packets QUIC passes over as not its
// own. ICE consent freshness (RFC 7675) stops with the agent: QUIC's
// keep-alives and idle timeout watch the path instead.

// detachable is a candidate's UDP socket as the ICE agent sees it: once
// detached, its reads fail as closed, so the agent's read loop ends, and
// closing it leaves the socket open for QUIC.
type detachable struct {
	*net.UDPConn
	detached atomic.Bool
}

// ReadFrom reads a packet for the agent, until detached.
func (d *detachable) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := d.UDPConn.ReadFrom(b)
	if d.detached.Load() {
		return 0, nil, net.ErrClosed
	}
	return n, addr, err
}

// Close closes the socket unless it was detached for QUIC.
func (d *detachable) Close() error {
	if d.detached.Load() {
		return nil
	}
	return d.UDPConn.Close()
}

// SetDeadline sets the socket's deadlines for the agent, until detached.
func (d *detachable) SetDeadline(t time.Time) error {
	if d.detached.Load() {
		return nil
	}
	return d.UDPConn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline for the agent, until detached.
func (d *detachable) SetReadDeadline(t time.Time) error {
	if d.detached.Load() {
		return nil
	}
	return d.UDPConn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline for the agent, until detached.
func (d *detachable) SetWriteDeadline(t time.Time) error {
	if d.detached.Load() {
		return nil
	}
	return d.UDPConn.SetWriteDeadline(t)
}

// detach takes the socket from the agent: its pending read returns at
// once and every later one fails as closed. The caller then closes the
// agent and clears the read deadline.
func (d *detachable) detach() {
	d.detached.Store(true)
	_ = d.UDPConn.SetReadDeadline(time.Now())
}

// ownedSocket returns the detachable socket behind the selected pair's
// local candidate, or nil when it is relayed (or unknown).
func ownedSocket(p *ice.CandidatePair, socks map[string]*detachable) *detachable {
	if p == nil || p.Local == nil || p.Local.Type() == ice.CandidateTypeRelay {
		return nil
	}
	return socks[candKey(p.Local)]
}

// candKey names a local candidate by type and address, as the selected
// pair shows it.
func candKey(c ice.Candidate) string {
	return fmt.Sprintf("%s %s:%d", c.Type(), c.Address(), c.Port())
}

// answerSTUN answers the STUN binding requests QUIC passes over on tr,
// with this side's ICE password, until ctx ends.
func answerSTUN(ctx context.Context, tr *quic.Transport, localPwd string) {
	buf := make([]byte, 1500)
	for {
		n, from, err := tr.ReadNonQUICPacket(ctx, buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, quic.ErrTransportClosed) {
				return
			}
			continue
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if m.Decode() != nil || m.Type != stun.BindingRequest {
			continue
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		if err := stun.NewShortTermIntegrity(localPwd).Check(m); err != nil {
			continue
		}
		resp, err := stun.Build(m, stun.BindingSuccess,
			&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port},
			stun.NewShortTermIntegrity(localPwd), stun.Fingerprint)
		if err != nil {
			continue
		}
		_, _ = tr.WriteTo(resp.Raw, from)
	}
}
