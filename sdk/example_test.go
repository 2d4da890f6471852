package sdk_test

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// base is the part every example plugin shares.
type base struct{ name string }

func (b base) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: b.name, Version: "0.1.0"}, nil
}
func (base) ConfigSchema(context.Context) (sdk.ConfigSchema, error) { return sdk.ConfigSchema{}, nil }
func (base) Configure(context.Context, sdk.ConfigureRequest) error  { return nil }
func (base) Close(context.Context) error                            { return nil }

// pipeTransport connects two sessions of the same process with net.Pipe.
type pipeTransport struct {
	base
	mu      sync.Mutex
	waiting map[string]chan net.Conn
}

func (p *pipeTransport) Prepare(_ context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	s := "s-" + req.Role.String()
	return sdk.PrepareResponse{Session: s, Local: sdk.Description{Transport: "pipe", Data: []byte(s)}}, nil
}

func (p *pipeTransport) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	p.mu.Lock()
	ch, ok := p.waiting["pair"]
	if !ok {
		ch = make(chan net.Conn, 1)
		p.waiting["pair"] = ch
		p.mu.Unlock()
		select {
		case c := <-ch:
			return halfCloser{c}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	delete(p.waiting, "pair")
	p.mu.Unlock()
	a, b := net.Pipe()
	ch <- b
	return halfCloser{a}, nil
}

// halfCloser gives net.Pipe a (full) CloseWrite, enough for an example.
type halfCloser struct{ net.Conn }

func (h halfCloser) CloseWrite() error { return h.Close() }

// A transport plugin implements Prepare and Connect. Its main is one call:
// serve.Plugin(&pipeTransport{...}), from package sdk/serve.
func ExampleTransport() {
	var t sdk.Transport = &pipeTransport{base: base{"pipe"}, waiting: map[string]chan net.Conn{}}
	ctx := context.Background()
	peer := sdk.PeerID{1}
	a, _ := t.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator})
	b, _ := t.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Responder})
	done := make(chan sdk.Stream)
	go func() {
		s, _ := t.Connect(ctx, sdk.ConnectRequest{Session: b.Session, Remote: a.Local})
		done <- s
	}()
	sa, _ := t.Connect(ctx, sdk.ConnectRequest{Session: a.Session, Remote: b.Local})
	sb := <-done
	go func() { _, _ = sa.Write([]byte("hello")) }()
	buf := make([]byte, 5)
	_, _ = sb.Read(buf)
	fmt.Println(string(buf))
	// Output: hello
}

// staticDiscovery knows a fixed list of peers.
type staticDiscovery struct {
	base
	peers []sdk.PeerInfo
}

func (d *staticDiscovery) Announce(context.Context, sdk.PeerInfo) error { return nil }

func (d *staticDiscovery) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	ch := make(chan sdk.PeerEvent)
	go func() {
		defer close(ch)
		for _, p := range d.peers {
			select {
			case ch <- sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: p}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (d *staticDiscovery) Lookup(_ context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	for _, p := range d.peers {
		if p.ID == id {
			return p, nil
		}
	}
	return sdk.PeerInfo{}, fmt.Errorf("lookup %s: %w", id.Short(), sdk.ErrNotFound)
}

// A discovery plugin announces this device and streams peer events.
func ExampleDiscovery() {
	var d sdk.Discovery = &staticDiscovery{base: base{"static"}, peers: []sdk.PeerInfo{{ID: sdk.PeerID{7}, Name: "laptop"}}}
	events, _ := d.Watch(context.Background())
	for ev := range events {
		fmt.Println(ev.Kind, ev.Peer.Name)
	}
	// Output: joined laptop
}

// loopSignaling delivers every message back to this device.
type loopSignaling struct {
	base
	ch chan sdk.Envelope
}

func (s *loopSignaling) Send(_ context.Context, env sdk.Envelope) error {
	s.ch <- env
	return nil
}

func (s *loopSignaling) Receive(context.Context) (<-chan sdk.Envelope, error) { return s.ch, nil }

// A signaling plugin carries small sealed messages; it never sees inside.
func ExampleSignaling() {
	var s sdk.Signaling = &loopSignaling{base: base{"loop"}, ch: make(chan sdk.Envelope, 1)}
	in, _ := s.Receive(context.Background())
	_ = s.Send(context.Background(), sdk.Envelope{To: sdk.PeerID{2}, Payload: []byte("sealed offer")})
	fmt.Println(string((<-in).Payload))
	// Output: sealed offer
}

// echoProtocol "receives" by accepting every offer and reporting its size.
type echoProtocol struct{ base }

func (echoProtocol) Send(ctx context.Context, req sdk.SendRequest) error {
	return nil
}

func (echoProtocol) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	return req.Sink.Decide(ctx, sdk.Offer{TransferID: "t1", Files: []sdk.FileInfo{{Name: "a.txt", Size: 3}}})
}

type printSink struct{}

func (printSink) Decide(_ context.Context, o sdk.Offer) error {
	fmt.Println("offer", o.TransferID, o.Files[0].Name, o.Files[0].Size)
	return nil
}
func (printSink) Create(context.Context, int) (sdk.PartFile, error) { return nil, sdk.ErrUnsupported }

// A protocol plugin runs the transfer conversation on a secured stream,
// reading from the host's FileSource or writing to its FileSink.
func ExampleProtocol() {
	var p sdk.Protocol = echoProtocol{base{"echo"}}
	_ = p.Receive(context.Background(), sdk.ReceiveRequest{Sink: printSink{}})
	// Output: offer t1 a.txt 3
}

// PeerIDs print grouped with check characters and parse forgivingly.
func ExampleParsePeerID() {
	id := sdk.PeerID{1, 2, 3}
	s := id.String()
	back, err := sdk.ParsePeerID(s)
	fmt.Println(err == nil && back == id, len(s))
	// Output: true 63
}
