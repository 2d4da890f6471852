package rpc

import (
	"context"
	"errors"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// oneConnListener is a net.Listener that accepts one given connection: the
// host serves a call's host services on one data-channel stream.
type oneConnListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{ch: make(chan net.Conn, 1), closed: make(chan struct{}), addr: c.LocalAddr()}
	l.ch <- c
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

// dialOneConn returns a gRPC client whose one connection is c: the
// plugin's side of a call's host services. It starts connecting at once
// (HTTP/2's preface and settings), while the protocol reads its first
// frames, rather than on its first call (grpc.NewClient is lazy): a
// protocol's first host call, the receiver's Decide, would otherwise wait
// a round of the handshake, ~2 ms of a small file's transfer.
func dialOneConn(c net.Conn) (*grpc.ClientConn, error) {
	var once sync.Once
	cc, err := grpc.NewClient("passthrough:///ferry-host",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			var out net.Conn
			once.Do(func() { out = c })
			if out == nil {
				return nil, errors.New("host services connection is gone")
			}
			return out, nil
		}))
	if err != nil {
		return nil, err
	}
	cc.Connect()
	return cc, nil
}
