package dht

import (
	"time"

	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/ferry-p2p/ferry/sdk"
)

// InjectRecord puts raw, a record that must validate, into p's table as
// if a neighbour had handed it over.
func (p *Plugin) InjectRecord(raw []byte) error {
	sr, err := DecodeRecord(raw)
	if err != nil {
		return err
	}
	if err := verifyRecord(Key(sr.Record.ID), sr, time.Now()); err != nil {
		return err
	}
	p.learn(sr, raw, time.Now())
	return nil
}

// Disconnect closes p's node's connections to the device id's node and
// forgets its addresses, as if the two had never met.
func (p *Plugin) Disconnect(id sdk.PeerID) {
	s, err := p.session("test")
	if err != nil {
		return
	}
	sr := p.cached(id, time.Now())
	if sr == nil {
		return
	}
	s.forget(sr)
	if pid, err := sr.LibP2PID(); err == nil {
		_ = s.n.h.Network().ClosePeer(pid)
	}
}

// P2PAddrs returns the libp2p addresses of the record p holds for id.
func (p *Plugin) P2PAddrs(id sdk.PeerID) []string {
	sr := p.cached(id, time.Now())
	if sr == nil {
		return nil
	}
	return sr.Record.P2PAddrs
}

// StopListening closes p's node's direct listeners, so no node can dial
// it directly any more (as behind a NAT); its own dials still work, and
// it stays reachable through a relay it holds a reservation on (the
// circuit listener stays).
func (p *Plugin) StopListening() {
	s, err := p.session("test")
	if err != nil {
		return
	}
	if sw, ok := s.n.h.Network().(*swarm.Swarm); ok {
		var direct []ma.Multiaddr
		for _, a := range sw.ListenAddresses() {
			if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err != nil {
				direct = append(direct, a)
			}
		}
		sw.ListenClose(direct...)
	}
}
