package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// streamProbe is a protocol that says what stream it was given: Send
// writes the payload and ends, Receive reads to the end.
type streamProbe struct {
	payload []byte
	got     chan string // the stream's type, then what Receive read
}

func (p *streamProbe) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "probe", Version: "1", ProtocolID: "/ferry/probe/1"}, nil
}
func (p *streamProbe) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	return sdk.ConfigSchema{}, nil
}
func (p *streamProbe) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (p *streamProbe) Close(context.Context) error                           { return nil }

func (p *streamProbe) Send(ctx context.Context, req sdk.SendRequest) error {
	p.got <- fmt.Sprintf("%T", req.Stream)
	if _, err := req.Stream.Write(p.payload); err != nil {
		return err
	}
	return req.Stream.CloseWrite()
}

func (p *streamProbe) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	p.got <- fmt.Sprintf("%T", req.Stream)
	b, err := io.ReadAll(req.Stream)
	p.got <- string(b)
	return err
}

// TestProtocolTakesRecordStream: a protocol behind the RPC shims gets the
// transport's socket and runs the record layer itself (its stream is a
// *record.Conn, not the socket pair of plaintext), and what it writes is
// read by the core's own secure.Conn on the other side, and the reverse.
func TestProtocolTakesRecordStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	idA, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	idB, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("ferry "), 200_000)
	probe := &streamProbe{payload: payload, got: make(chan string, 3)}
	proto, err := plugintest.ServeInProcess(t, probe).Protocol()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"plugin sends", "plugin receives"} {
		t.Run(dir, func(t *testing.T) {
			client, server := securePair(ctx, t, idA, idB)
			if dir == "plugin sends" {
				errc := make(chan error, 1)
				go func() {
					errc <- proto.Send(ctx, sdk.SendRequest{Stream: client, Offer: sdk.Offer{TransferID: "t", Files: []sdk.FileInfo{{Name: "f"}}}, Source: nopSource{}})
				}()
				got, err := io.ReadAll(server)
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("core read %d bytes (%v), want the %d the plugin wrote", len(got), err, len(payload))
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			} else {
				errc := make(chan error, 1)
				go func() { errc <- proto.Receive(ctx, sdk.ReceiveRequest{Stream: server, Sink: nopSink{}}) }()
				if _, err := client.Write(payload); err != nil {
					t.Fatal(err)
				}
				if err := client.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			if typ := <-probe.got; typ != "*record.Conn" {
				t.Errorf("the plugin's stream is a %s, want *record.Conn (the transport's socket under the record layer)", typ)
			}
			if dir == "plugin receives" {
				if got := <-probe.got; got != string(payload) {
					t.Errorf("plugin read %d bytes, want %d", len(got), len(payload))
				}
			}
		})
	}
}

// securePair returns the two ends of a loopback TCP connection secured by
// the core for the probe protocol, closed at the test's end.
func securePair(ctx context.Context, t *testing.T, idA, idB *identity.Identity) (client, server *secure.Conn) {
	t.Helper()
	a, b := plugintest.TCPPair(t)
	srv := make(chan *secure.Conn, 1)
	go func() {
		c, err := secure.Server(ctx, b, idB, nil, []string{"/ferry/probe/1"})
		if err != nil {
			t.Error(err)
		}
		srv <- c
	}()
	client, err := secure.Client(ctx, a, idA, idB.ID, []string{"/ferry/probe/1"})
	if err != nil {
		t.Fatal(err)
	}
	server = <-srv
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

type nopSource struct{}

func (nopSource) Open(context.Context, int, int64) (io.ReadCloser, error) {
	return nil, fmt.Errorf("no files")
}

type nopSink struct{}

func (nopSink) Decide(context.Context, sdk.Offer) error { return nil }
func (nopSink) Create(context.Context, int) (sdk.PartFile, error) {
	return nil, fmt.Errorf("no files")
}
