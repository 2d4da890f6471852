package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
)

const testProto = "/ferry/test/1"

// fakeNet is what the fake transports of both sides share: the streams
// the responder's prepared sessions wait for, and every stream it made.
type fakeNet struct {
	mu            sync.Mutex
	roles         map[string]sdk.ConnRole    // transport/session -> role
	initiatorDesc map[string]string          // transport -> the initiator's description
	waiting       map[string]chan sdk.Stream // transport/session -> responder
	released      map[string]bool            // transport/session whose Connect ended without a stream
	streams       []*trackedConn
	seq           atomic.Int64
}

func newFakeNet() *fakeNet {
	return &fakeNet{waiting: map[string]chan sdk.Stream{}, roles: map[string]sdk.ConnRole{}, initiatorDesc: map[string]string{}, released: map[string]bool{}}
}

// trackedConn is a loopback TCP stream that records whether it was closed
// and whether a Connect handed it out (streams still inside a transport's
// session are the transport's to release, not the core's).
type trackedConn struct {
	*net.TCPConn
	closed atomic.Bool
	handed atomic.Bool
}

// handOut marks st as returned by Connect.
func handOut(st sdk.Stream) sdk.Stream {
	if tc, ok := st.(*trackedConn); ok {
		tc.handed.Store(true)
	}
	return st
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.TCPConn.Close()
}

// mode says how a fake transport behaves for the initiator.
type mode int

const (
	works    mode = iota
	fails         // Connect fails
	impostor      // the stream leads to a device with another identity
)

// fakeTransport is one side's view of one fake transport.
type fakeTransport struct {
	name string
	net  *fakeNet
	mode mode
	// impostorID is who answers on an impostor transport.
	impostorID *identity.Identity
	// needsRemote: the responder's Connect needs the initiator's
	// description (sdk.CapRemoteDescription), and checks it got it.
	needsRemote bool
	connects    atomic.Int32
}

func (f *fakeTransport) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: f.name, Roles: []sdk.Role{sdk.RoleTransport}}, nil
}
func (f *fakeTransport) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	return sdk.ConfigSchema{}, nil
}
func (f *fakeTransport) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (f *fakeTransport) Close(context.Context) error                           { return nil }

func (f *fakeTransport) Prepare(_ context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	s := fmt.Sprintf("s%d", f.net.seq.Add(1))
	f.net.mu.Lock()
	f.net.roles[f.name+"/"+s] = req.Role
	if req.Role == sdk.Responder {
		f.net.waiting[f.name+"/"+s] = make(chan sdk.Stream, 1)
	} else {
		f.net.initiatorDesc[f.name] = s
	}
	f.net.mu.Unlock()
	return sdk.PrepareResponse{Session: s, Local: sdk.Description{Transport: f.name, Data: []byte(s)}}, nil
}

func (f *fakeTransport) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	f.connects.Add(1)
	f.net.mu.Lock()
	role := f.net.roles[f.name+"/"+req.Session]
	f.net.mu.Unlock()
	if role == sdk.Responder { // wait for the initiator
		if f.needsRemote {
			f.net.mu.Lock()
			want, ok := f.net.initiatorDesc[f.name]
			f.net.mu.Unlock()
			if !ok || string(req.Remote.Data) != want {
				return nil, fmt.Errorf("responder got remote description %q, want the initiator's %q", req.Remote.Data, want)
			}
		}
		f.net.mu.Lock()
		ch := f.net.waiting[f.name+"/"+req.Session]
		f.net.mu.Unlock()
		if ch == nil {
			return nil, fmt.Errorf("session %s: %w", req.Session, sdk.ErrNotFound)
		}
		select {
		case st := <-ch:
			return handOut(st), nil
		case <-ctx.Done():
			// Like a real transport, a session whose Connect ended is
			// released: a stream the initiator made for it is closed.
			f.net.mu.Lock()
			f.net.released[f.name+"/"+req.Session] = true
			select {
			case st := <-ch:
				_ = st.Close()
			default:
			}
			f.net.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	if f.mode == fails {
		return nil, errors.New("no route to peer")
	}
	a, b, err := f.net.pair()
	if err != nil {
		return nil, err
	}
	if f.mode == impostor {
		go func() {
			defer b.Close()
			c, err := secure.Server(ctx, b, f.impostorID, func(sdk.PeerID) error { return nil }, []string{testProto})
			if err == nil {
				_, _ = c.Read(make([]byte, 1))
				_ = c.Close()
			}
		}()
		return handOut(a), nil
	}
	f.net.mu.Lock()
	defer f.net.mu.Unlock()
	key := f.name + "/" + string(req.Remote.Data)
	ch := f.net.waiting[key]
	if ch == nil || f.net.released[key] {
		_ = a.Close()
		_ = b.Close()
		return nil, fmt.Errorf("remote session %s: %w", req.Remote.Data, sdk.ErrNotFound)
	}
	ch <- b
	return handOut(a), nil
}

// pair makes a connected loopback TCP pair.
func (n *fakeNet) pair() (*trackedConn, *trackedConn, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   *net.TCPConn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.AcceptTCP()
		ch <- res{c, err}
	}()
	d, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		return nil, nil, err
	}
	r := <-ch
	if r.err != nil {
		_ = d.Close()
		return nil, nil, r.err
	}
	a, b := &trackedConn{TCPConn: d}, &trackedConn{TCPConn: r.c}
	n.mu.Lock()
	n.streams = append(n.streams, a, b)
	n.mu.Unlock()
	return a, b, nil
}

// open reports the streams not closed yet.
func (n *fakeNet) open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, s := range n.streams {
		if s.handed.Load() && !s.closed.Load() {
			k++
		}
	}
	return k
}

// release closes the streams no Connect handed out, as a transport
// releases the sessions nobody connected.
func (n *fakeNet) release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.streams {
		if !s.handed.Load() {
			_ = s.Close()
		}
	}
}

// fakeDirectory knows one peer.
type fakeDirectory struct{ peer sdk.PeerInfo }

func (d fakeDirectory) Wait(context.Context, sdk.PeerID, time.Duration) (sdk.PeerInfo, error) {
	return d.peer, nil
}
func (d fakeDirectory) Lookup(context.Context, sdk.PeerID) (sdk.PeerInfo, error) {
	return d.peer, nil
}

// loopMessenger hands the ASK straight to the receiving side's Answerer and
// its ACCEPT back to the dialer, as signaling would.
type loopMessenger struct {
	t        *testing.T
	sender   sdk.PeerID
	answerer *Answerer
	mu       sync.Mutex
	answers  chan *Message
	done     chan struct{}
	res      *Result
	err      error
	cancel   context.CancelFunc // ends the answerer once the dialer gave up
	// candidates carries the dialer's CANDIDATES messages to the answerer.
	candidates chan *Message
}

func (m *loopMessenger) Expect(string) (<-chan *Message, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answers = make(chan *Message, 1)
	return m.answers, func() {}
}

func (m *loopMessenger) Send(ctx context.Context, _ sdk.PeerID, msg *Message) error {
	if msg.Type == TypeCandidates {
		m.candidates <- msg
		return nil
	}
	ask := msg
	m.done = make(chan struct{})
	m.candidates = make(chan *Message, 8)
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	go func() {
		defer close(m.done)
		defer cancel()
		m.res, m.err = m.answerer.Answer(actx, AnswerRequest{
			From: m.sender, Ask: ask, Protocol: testProto, Candidates: m.candidates,
			Accept: func(_ context.Context, cs []Candidate) error {
				a := &Message{Type: TypeAccept, ID: ask.ID, Ferry: Ferry{V: MessageVersion, Protocol: testProto, Attempt: ask.Ferry.Attempt}}
				a.SetCandidateList(cs)
				m.answers <- a
				return nil
			},
		})
	}()
	return nil
}

func newID(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// runPair dials from one side to the other over the given transports
// (the dialer's view and the answerer's view of each) and returns both
// results, after checking that they agree.
func runPair(t *testing.T, pol Policy, dialTs, answerTs Transports) (*Result, *Result, error) {
	t.Helper()
	a, b := newID(t), newID(t)
	ans := &Answerer{Identity: b, Transports: answerTs, Policy: pol}
	msgr := &loopMessenger{t: t, sender: a.ID, answerer: ans}
	var changes []Change
	var mu sync.Mutex
	d := &Dialer{
		Identity: a, Transports: dialTs, Policy: pol,
		Directory: fakeDirectory{sdk.PeerInfo{ID: b.ID, Name: "b"}},
		Messenger: msgr,
		Observe:   func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := d.Dial(ctx, b.ID, 1, func(info sdk.PeerInfo) *Message {
		return &Message{Type: TypeAsk, ID: strings.Repeat("ab", 16), Ferry: Ferry{V: MessageVersion, Transports: dialTs.Names(), Protocols: []string{testProto}}}
	})
	if msgr.done != nil {
		if err != nil {
			msgr.cancel() // as the receiver's connect timeout would
		}
		<-msgr.done
	}
	if err != nil {
		if msgr.res != nil {
			_ = msgr.res.Conn.Close()
		}
		return nil, nil, err
	}
	if msgr.err != nil {
		_ = res.Conn.Close()
		t.Fatalf("answerer: %v", msgr.err)
	}
	if res.Transport != msgr.res.Transport {
		t.Errorf("dialer won over %s, answerer over %s", res.Transport, msgr.res.Transport)
	}
	if res.Conn.Peer() != b.ID || msgr.res.Conn.Peer() != a.ID {
		t.Errorf("secured peers %s and %s, want %s and %s", res.Conn.Peer().Short(), msgr.res.Conn.Peer().Short(), b.ID.Short(), a.ID.Short())
	}
	// The winning stream carries data both ways.
	go func() { _, _ = msgr.res.Conn.Write([]byte("ok")) }()
	buf := make([]byte, 2)
	if _, err := res.Conn.Read(buf); err != nil || string(buf) != "ok" {
		t.Errorf("read on the winner: %q, %v", buf, err)
	}
	mu.Lock()
	var states []string
	for _, c := range changes {
		states = append(states, c.State.String())
	}
	last := changes[len(changes)-1]
	mu.Unlock()
	if want := "discovering resolving signaling connecting securing connected"; strings.Join(states, " ") != want {
		t.Errorf("states %v, want %s", states, want)
	}
	if last.Transport != res.Transport || last.Why == "" {
		t.Errorf("connected change %+v does not name the winner %s and why", last, res.Transport)
	}
	return res, msgr.res, nil
}

func fds(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(es)
}

// settle waits for the goroutine and descriptor counts to come back to
// what they were, and fails if they do not.
func settle(t *testing.T, goroutines, descriptors int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), fds(t)
		if g <= goroutines && f <= descriptors {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("leak: %d goroutines (was %d), %d descriptors (was %d)\n%s", g, goroutines, f, descriptors, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRace(t *testing.T) {
	imp := newID(t)
	cases := []struct {
		name string
		// transports in the dialer's config: name, priority, mode
		ts []struct {
			name string
			prio int
			mode mode
		}
		fallback time.Duration
		want     string // winner, or "" for failure
		wantErr  string
	}{
		{name: "higher priority wins when both work",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"slow", 20, works}, {"fast", 10, works}},
			fallback: 10 * time.Second, want: "fast"},
		{name: "lower priority wins when the higher fails",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"direct", 10, fails}, {"relay", 20, works}},
			fallback: 10 * time.Second, want: "relay"},
		{name: "wrong TLS identity never wins",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"evil", 10, impostor}, {"good", 20, works}},
			fallback: 10 * time.Second, want: "good"},
		{name: "wrong TLS identity alone fails",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"evil", 10, impostor}},
			fallback: 10 * time.Second, wantErr: "peer id mismatch"},
		{name: "equal priorities race and the loser is closed",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"one", 10, works}, {"two", 10, works}, {"three", 10, works}},
			fallback: 10 * time.Second, want: "any"},
		{name: "every transport fails",
			ts: []struct {
				name string
				prio int
				mode mode
			}{{"a", 10, fails}, {"b", 20, fails}},
			fallback: 10 * time.Second, wantErr: "every transport failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g0, f0 := runtime.NumGoroutine(), fds(t)
			fn := newFakeNet()
			var dialTs, answerTs Transports
			var dialFakes []*fakeTransport
			for _, x := range tc.ts {
				df := &fakeTransport{name: x.name, net: fn, mode: x.mode, impostorID: imp}
				dialFakes = append(dialFakes, df)
				dialTs = append(dialTs, Transport{Name: x.name, Priority: x.prio, Transport: df})
				answerTs = append(answerTs, Transport{Name: x.name, Priority: x.prio, Transport: &fakeTransport{name: x.name, net: fn}})
			}
			// With no stagger, equal priorities start together; the
			// stagger of 0 means its default, so use a tiny one.
			pol := Policy{Stagger: time.Millisecond, Fallback: tc.fallback, Connect: 15 * time.Second}
			dres, ares, err := runPair(t, pol, dialTs, answerTs)
			if tc.wantErr != "" {
				if err == nil {
					_ = dres.Conn.Close()
					_ = ares.Conn.Close()
					t.Fatalf("won over %s, want an error containing %q", dres.Transport, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
				}
				if tc.wantErr == "peer id mismatch" {
					var pm *secure.PeerMismatchError
					if !errors.As(err, &pm) {
						t.Errorf("error %v does not unwrap to *secure.PeerMismatchError", err)
					}
				}
			} else {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				if tc.want != "any" && dres.Transport != tc.want {
					t.Errorf("won over %s, want %s (why: %s)", dres.Transport, tc.want, dres.Why)
				}
				// Only the winner's two ends are open.
				if n := fn.open(); n != 2 {
					t.Errorf("%d streams open after the race, want the winner's 2", n)
				}
				_ = dres.Conn.Close()
				_ = ares.Conn.Close()
			}
			if tc.want == "fast" || tc.want == "relay" {
				for i, x := range tc.ts {
					if x.name != tc.want && x.mode == works && dialFakes[i].connects.Load() != 0 {
						t.Errorf("%s was tried although a better transport worked", x.name)
					}
				}
			}
			if n := fn.open(); n != 0 {
				t.Errorf("%d streams still open after closing the winner", n)
			}
			fn.release()
			settle(t, g0, f0)
		})
	}
}

// TestRaceRemoteDescription: a transport whose receiving side needs the
// sender's description (sdk.CapRemoteDescription, ICE) gets it in a
// CANDIDATES message after the ACCEPT, and wins; one that does not need it
// is not sent one.
func TestRaceRemoteDescription(t *testing.T) {
	g0, f0 := runtime.NumGoroutine(), fds(t)
	fn := newFakeNet()
	dialTs := Transports{{Name: "ice", Priority: 10, Transport: &fakeTransport{name: "ice", net: fn}}}
	answerTs := Transports{{Name: "ice", Priority: 10, NeedsRemote: true, Transport: &fakeTransport{name: "ice", net: fn, needsRemote: true}}}
	pol := Policy{Stagger: time.Millisecond, Fallback: 10 * time.Second, Connect: 15 * time.Second}
	dres, ares, err := runPair(t, pol, dialTs, answerTs)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if dres.Transport != "ice" {
		t.Errorf("won over %s, want ice", dres.Transport)
	}
	_ = dres.Conn.Close()
	_ = ares.Conn.Close()
	settle(t, g0, f0)
}

// TestRemoteDescriptionNeverArrives: a receiving side that needs the
// sender's description and never gets it fails that transport with a
// clear reason, and leaks nothing.
func TestRemoteDescriptionNeverArrives(t *testing.T) {
	g0, f0 := runtime.NumGoroutine(), fds(t)
	a, b := newID(t), newID(t)
	fn := newFakeNet()
	ans := &Answerer{Identity: b, Policy: Policy{Connect: 300 * time.Millisecond},
		Transports: Transports{{Name: "ice", Priority: 10, NeedsRemote: true, Transport: &fakeTransport{name: "ice", net: fn, needsRemote: true}}}}
	ask := &Message{Type: TypeAsk, ID: strings.Repeat("cd", 16), Ferry: Ferry{V: MessageVersion, Transports: []string{"ice"}, Protocols: []string{testProto}, Attempt: 1}}
	var asked []Candidate
	_, err := ans.Answer(context.Background(), AnswerRequest{
		From: a.ID, Ask: ask, Protocol: testProto, Candidates: make(chan *Message),
		Accept: func(_ context.Context, cs []Candidate) error { asked = cs; return nil },
	})
	if len(asked) != 1 || !asked[0].Remote {
		t.Errorf("ACCEPT candidates %+v, want ice asking for the sender's description", asked)
	}
	if err == nil || !strings.Contains(err.Error(), "description of ice never arrived") {
		t.Errorf("error %v, want one saying the sender's description never arrived", err)
	}
	settle(t, g0, f0)
}
