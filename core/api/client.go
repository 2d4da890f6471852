package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-p2p/ferry/core/home"
	"github.com/ferry-p2p/ferry/core/node"
)

// clientEventBuffer is the buffer of the channel Events returns.
const clientEventBuffer = 64

// SocketName is the daemon's socket in the Ferry home.
const SocketName = home.SocketName

// ErrNoDaemon is returned by Dial when no daemon runs for the home.
var ErrNoDaemon = errors.New("no ferry daemon is running")

// Client talks to a running daemon over its Unix socket.
type Client struct {
	hc   *http.Client
	base string
}

// Dial connects to the daemon of the Ferry home: ErrNoDaemon when its
// socket is missing or nobody answers on it (a daemon killed leaves the
// file behind).
func Dial(home string) (*Client, error) {
	path := filepath.Join(home, SocketName)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w for %s", ErrNoDaemon, home)
		}
		return nil, fmt.Errorf("daemon socket %s: %w", path, err)
	}
	_ = conn.Close()
	return NewClient(home), nil
}

// NewClient returns a client of the daemon of the Ferry home without
// checking that one runs: for a caller that knows it does (a command line
// the daemon runs for the ferry front). Dial checks first.
func NewClient(home string) *Client {
	path := filepath.Join(home, SocketName)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 4,
	}
	return &Client{hc: &http.Client{Transport: tr}, base: "http://ferry"}
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Error is an error response of the API.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes an Error match the sentinel of its status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// do sends a request with in as its JSON body (nil: none) and decodes the
// answer into out (nil: dropped).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("daemon: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var e apiError
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: %s", method, path, res.Status)
		}
		return &Error{Status: res.StatusCode, Message: e.Error}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("daemon: %s %s: %w", method, path, err)
	}
	return nil
}

// Identity returns the daemon's device.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	return id, c.do(ctx, "GET", "/api/v1/identity", nil, &id)
}

// Peers returns the peers the daemon sees.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var ps []Peer
	return ps, c.do(ctx, "GET", "/api/v1/peers", nil, &ps)
}

// Send starts a transfer in the daemon.
func (c *Client) Send(ctx context.Context, req SendRequest) (Sent, error) {
	var s Sent
	return s, c.do(ctx, "POST", "/api/v1/send", req, &s)
}

// Offers returns the offers waiting for an answer.
func (c *Client) Offers(ctx context.Context) ([]Offer, error) {
	var offers []Offer
	return offers, c.do(ctx, "GET", "/api/v1/offers", nil, &offers)
}

// Answer accepts (refuse false) or refuses with reason the offer id (a
// unique prefix; "" for the only one waiting).
func (c *Client) Answer(ctx context.Context, id string, refuse bool, reason string) error {
	if id == "" {
		id = "-"
	}
	path := "/api/v1/offers/" + url.PathEscape(id) + "/accept"
	var in any
	if refuse {
		path = "/api/v1/offers/" + url.PathEscape(id) + "/refuse"
		in = answerRequest{Reason: reason}
	}
	return c.do(ctx, "POST", path, in, nil)
}

// Transfers lists the daemon's transfers.
func (c *Client) Transfers(ctx context.Context) ([]Transfer, error) {
	var ts []Transfer
	return ts, c.do(ctx, "GET", "/api/v1/transfers", nil, &ts)
}

// Control pauses, resumes or cancels (verb) transfer id.
func (c *Client) Control(ctx context.Context, id, verb string) error {
	return c.do(ctx, "POST", "/api/v1/transfers/"+url.PathEscape(id)+"/"+verb, nil, nil)
}

// Reload has the daemon load its config again; an error says why it was
// refused.
func (c *Client) Reload(ctx context.Context) (string, error) {
	var r reloaded
	return r.Message, c.do(ctx, "POST", "/api/v1/config/reload", nil, &r)
}

// Events subscribes to the daemon's event stream: once it returns, every
// event from then on arrives on the channel, which is closed when ctx
// ends or the daemon goes away.
func (c *Client) Events(ctx context.Context) (<-chan node.Event, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/events", nil)
	if err != nil {
		return nil, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("daemon: events: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("daemon: events: %s", res.Status)
	}
	br := bufio.NewReader(res.Body)
	// The stream says it is subscribed with its first comment.
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": ready") {
		res.Body.Close()
		return nil, fmt.Errorf("daemon: events: no ready line (%q, %v)", line, err)
	}
	// The reader below waits for the receiver of ch (it never drops an
	// event), so a small buffer does.
	ch := make(chan node.Event, clientEventBuffer)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
			if !ok {
				continue
			}
			var e node.Event
			if json.Unmarshal([]byte(data), &e) != nil {
				continue
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
