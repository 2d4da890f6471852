package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/ferry-p2p/ferry/sdk/record"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/token"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/ranges"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

// Ask is an incoming offer, for a Decider.
type Ask struct {
	Peer     sdk.PeerID
	PeerName string
	// Offer is the offer; its Files are empty when the ASK carries a
	// Summary instead (a large offer, whose list follows once accepted).
	Offer sdk.Offer
	// Summary, if not nil, is what the ASK says of its files: their count,
	// total size and top-level names.
	Summary *connect.Summary
	// Probe marks a connection test (`ferry doctor PEER`) rather than an
	// offer: no files; accepting it makes a connection that carries an
	// echo and reveals this device's addresses to the peer. A Decider
	// that does not ask the user about probes should refuse them.
	Probe bool
}

// Decider decides on an offer that no policy settled: it returns "" to
// accept or a reason to refuse. It may block (a prompt); ctx ends if the
// node closes, or when the offer is withdrawn (its cause is then
// [ErrOfferExpired] or [ErrSenderLeft], and the answer is not used).
type Decider func(ctx context.Context, a Ask) (refuse string)

// server is the receiving side, set up by Serve.
type server struct {
	n      *Node
	inbox  *transfer.Inbox
	decide Decider
	auto   map[sdk.PeerID]bool

	mu         sync.Mutex
	active     map[string]*handler              // peer+transfer -> running handler
	candidates map[string]chan *connect.Message // peer+transfer -> the answer waiting for the sender's descriptions
	conns      map[string]*connCount            // peer+transfer -> connections it ran on, and how many were altered
}

// connCount counts a transfer's connections on this side, and those on
// which a record failed to authenticate (the stream altered on the path).
type connCount struct{ conns, altered int }

type handler struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Serve makes the node receive: ASKs from peers in autoAccept, and resumes
// of transfers already accepted, are accepted at once; others go to
// decide. Files land in inbox.
func (n *Node) Serve(inbox *transfer.Inbox, autoAccept []sdk.PeerID, decide Decider) {
	s := &server{n: n, inbox: inbox, decide: decide, auto: map[sdk.PeerID]bool{}, active: map[string]*handler{}, candidates: map[string]chan *connect.Message{}, conns: map[string]*connCount{}}
	for _, id := range autoAccept {
		s.auto[id] = true
	}
	n.mu.Lock()
	n.serve = s
	early := n.early
	n.early = nil
	n.mu.Unlock()
	// ASKs that arrived between Start (which announces this device) and
	// Serve: answer the recent ones now rather than leave their senders
	// waiting for an answer that never comes.
	for _, a := range early {
		if time.Since(a.at) < earlyAskWindow {
			s.onAsk(a.from, a.msg)
		}
	}
}

// earlyAskWindow is how long an ASK that arrived before Serve is kept for it,
// and earlyAskMax how many are.
const (
	earlyAskWindow = 30 * time.Second
	earlyAskMax    = 16
)

// earlyAsk is an ASK that arrived before Serve.
type earlyAsk struct {
	at   time.Time
	from sdk.PeerID
	msg  *connect.Message
}

// onAsk starts a handler for the ASK. A repeated ASK for a transfer being
// handled (the sender resumes after a broken connection) replaces the old
// handler once it has stopped.
func (s *server) onAsk(from sdk.PeerID, m *connect.Message) {
	if !slices.ContainsFunc(m.Receivers, func(u connect.User) bool { return u.ID == s.n.id.ID.String() }) {
		s.n.log.Warn("dropped ASK that does not name this device as a receiver", "from", from, "transfer", m.ID)
		return
	}
	key := from.String() + "/" + m.ID
	ctx, cancel := context.WithCancel(s.n.ctx)
	h := &handler{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	old := s.active[key]
	s.active[key] = h
	s.mu.Unlock()
	s.n.wg.Add(1)
	go func() {
		defer s.n.wg.Done()
		defer close(h.done)
		defer cancel()
		if old != nil {
			old.cancel()
			<-old.done
		}
		s.handle(ctx, from, m)
		s.mu.Lock()
		if s.active[key] == h {
			delete(s.active, key)
		}
		s.mu.Unlock()
	}()
}

func (s *server) handle(ctx context.Context, from sdk.PeerID, m *connect.Message) {
	n := s.n
	base := Event{Peer: from.String(), PeerName: m.Sender.Name, Transfer: m.ID}
	if err := n.checkAccount(from); err != nil {
		n.log.Warn("refused an offer from a revoked device", "from", from, "transfer", m.ID, "err", err)
		e := base
		e.Kind, e.Message, e.Code = EventRefused, err.Error(), CodeRevoked
		n.emit(e)
		if err := n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Reason: "this device refuses yours: " + err.Error(), Attempt: m.Ferry.Attempt, Probe: m.Ferry.Probe})); err != nil {
			n.log.Warn("could not send REFUSE", "peer", from, "err", err)
		}
		return
	}
	if m.Ferry.Probe {
		s.answerProbe(ctx, from, m, base)
		return
	}
	offer, err := m.Offer()
	if err != nil {
		n.log.Warn("dropped ASK", "from", from, "err", err)
		return
	}
	var total int64
	for _, f := range offer.Files {
		total += f.Size
	}
	files := len(offer.Files)
	sum := m.Ferry.Manifest
	if sum != nil {
		files, total = sum.Files, sum.Size
	}
	inc, err := s.inbox.Find(from, m.ID)
	resume := err == nil
	if !resume && m.Ferry.For != "" && m.Ferry.For != n.instance {
		// Another process running this identity accepted the transfer
		// and holds its journal: taking it up here would start it from
		// zero and leave an orphan part there. Say so; the sender tries
		// again and may reach the holder.
		n.log.Warn("an ASK to resume a transfer held by another instance of this device (one identity running twice: a copied FERRY_HOME?): not taking it up here",
			"from", from, "transfer", m.ID, "holder_instance", m.Ferry.For, "this_instance", n.instance)
		if err := n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Elsewhere: true, Attempt: m.Ferry.Attempt,
			Reason: "this transfer is held by another instance of this device"})); err != nil {
			n.log.Warn("could not answer the ASK", "peer", from, "err", err)
		}
		return
	}
	if !resume {
		e := base
		e.Kind, e.Files, e.Total = EventOffer, files, total
		n.emit(e)
		refuse := ""
		if !s.auto[from] && !n.autoAccepted(from) {
			dctx, stop := s.offerContext(ctx, from, m)
			refuse = s.decide(dctx, Ask{Peer: from, PeerName: m.Sender.Name, Offer: offer, Summary: sum})
			why := withdrawn(ctx, dctx)
			stop()
			if why != nil {
				e := base
				e.Kind, e.Message = EventWithdrawn, why.Error()
				n.emit(e)
				return
			}
		}
		// A large offer's files are recorded once its manifest has
		// arrived and checked out (connectAndReceive).
		if refuse == "" && sum == nil {
			if inc, err = s.inbox.Accept(from, m.Sender.Name, offer, m.Ferry.Folders...); err != nil {
				refuse = err.Error()
				n.log.Warn("refused an offer the inbox cannot take", "from", from, "transfer", m.ID, "err", err)
			} else {
				s.reportRefused(inc, base)
			}
		}
		if refuse != "" {
			e := base
			e.Kind, e.Message = EventRefused, refuse
			n.emit(e)
			if err := n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Reason: refuse})); err != nil {
				n.log.Warn("could not send REFUSE", "peer", from, "err", err)
			}
			return
		}
	} else {
		n.log.Info("resuming an accepted transfer", "peer", from, "transfer", m.ID)
		if sum != nil {
			// Its hashes come with the manifest (connectAndReceive).
		} else if err := inc.TakeHashes(offer.Files); err != nil {
			n.log.Warn("refused a resumed offer", "from", from, "transfer", m.ID, "err", err)
			if err := n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Reason: err.Error()})); err != nil {
				n.log.Warn("could not send REFUSE", "peer", from, "err", err)
			}
			return
		}
	}
	e := base
	e.Kind, e.Files, e.Total = EventAccepted, files, total
	if resume {
		e.Message = "resume"
	}
	n.emit(e)
	inc, err = s.connectAndReceive(ctx, from, m, offer, inc, resume, base)
	if err != nil {
		err = s.explain(from, m.ID, err)
		e := base
		e.Kind, e.Message, e.Code = EventError, err.Error(), ErrorCode(err)
		n.emit(e)
		if e.Code == CodeCancelled {
			// Stopped here (Ctrl-C): the error event says so; the
			// transfer resumes when the sender sends again.
			n.log.Debug("transfer interrupted", "peer", from, "transfer", m.ID, "err", err)
		} else {
			n.log.Warn("transfer interrupted", "peer", from, "transfer", m.ID, "err", err)
		}
		return
	}
	s.mu.Lock()
	delete(s.conns, from.String()+"/"+m.ID)
	s.mu.Unlock()
	if inc.Complete() {
		e := base
		e.Kind, e.Files, e.Total = EventDone, files, total
		n.emit(e)
		return
	}
	e = base
	e.Kind, e.Message, e.Code = EventError, "the sender stopped before every file arrived; the transfer resumes when it sends again", CodeOffline
	n.emit(e)
}

// explain puts the cause of a failed connection of transfer id from peer
// first, for people: the receiving disk full, or the stream altered on
// the path on how many of the transfer's connections so far.
func (s *server) explain(from sdk.PeerID, id string, err error) error {
	if ErrorCode(err) == CodeNoSpace {
		return fmt.Errorf("the disk of the receive folder is full: the part files are kept, and the transfer resumes from them when the sender tries again after room is made: %w", err)
	}
	if !altered(err) {
		return err
	}
	s.mu.Lock()
	c := s.conns[from.String()+"/"+id]
	altered, conns := 0, 0
	if c != nil {
		c.altered++
		altered, conns = c.altered, c.conns
	}
	s.mu.Unlock()
	return fmt.Errorf("%s: %w", alteredHeadline(altered, conns), err)
}

// expectCandidates registers for the CANDIDATES messages of transfer id
// from peer; call stop to drop the registration.
func (s *server) expectCandidates(from sdk.PeerID, id string) (<-chan *connect.Message, func()) {
	key := from.String() + "/" + id
	ch := make(chan *connect.Message, 8)
	s.mu.Lock()
	s.candidates[key] = ch
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		if s.candidates[key] == ch {
			delete(s.candidates, key)
		}
		s.mu.Unlock()
	}
}

// onCandidates hands a CANDIDATES message to the answer waiting for it.
func (s *server) onCandidates(from sdk.PeerID, m *connect.Message) {
	s.mu.Lock()
	ch := s.candidates[from.String()+"/"+m.ID]
	s.mu.Unlock()
	if ch == nil {
		s.n.log.Debug("CANDIDATES for no transfer being answered", "from", from, "transfer", m.ID)
		return
	}
	select {
	case ch <- m:
	default:
		s.n.log.Warn("dropped CANDIDATES: too many for one transfer", "from", from, "transfer", m.ID)
	}
}

func (s *server) reply(m *connect.Message, typ string, f connect.Ferry) *connect.Message {
	f.V = connect.MessageVersion
	f.Instance = s.n.instance
	return &connect.Message{
		Type: typ, ID: m.ID, Sender: m.Sender,
		Receiver: &connect.User{Name: s.n.cfg.DeviceName(), ID: s.n.id.ID.String()},
		Time:     connect.Now(time.Now()), Ferry: f,
	}
}

// connectAndReceive answers the ASK through core/connect (every shared
// transport, in this device's priority order, raced; the sender nominates)
// and runs the protocol on the stream that won. For an ASK with a summary,
// the manifest is read first and checked (see [server.takeManifest]); inc
// is nil then for a transfer not accepted before. It returns the transfer.
func (s *server) connectAndReceive(ctx context.Context, from sdk.PeerID, m *connect.Message, offer sdk.Offer, inc *transfer.Incoming, resume bool, base Event) (*transfer.Incoming, error) {
	n := s.n
	var pid string
	for _, p := range m.Ferry.Protocols {
		if _, ok := n.protocols[p]; ok {
			pid = p
			break
		}
	}
	if len(n.transports.Shared(m.Ferry.Transports)) == 0 || pid == "" {
		reason := fmt.Sprintf("no common transport or protocol (offered %v and %v; have %v and %v)", m.Ferry.Transports, m.Ferry.Protocols, n.transports.Names(), n.protoOrder)
		_ = n.sendMessage(ctx, from, s.reply(m, connect.TypeRefuse, connect.Ferry{Reason: reason}))
		return inc, errors.New(reason)
	}
	// The token lets the sender present this transfer on this and any
	// later connection (jsonchunk's AUTHENTICATION).
	// (For a large offer, the token comes with the verdict on its
	// manifest instead.)
	var tok string
	if m.Ferry.Manifest == nil {
		var err error
		if tok, err = token.Issue(n.id.PrivateKey(), from, offer, time.Now(), 0); err != nil {
			return inc, err
		}
	}
	accept := connect.Ferry{Protocol: pid, Resume: resume, Token: tok, Attempt: m.Ferry.Attempt}
	if inc != nil {
		accept.Refused = refusals(inc)
	}
	res, err := s.answer(ctx, from, m, accept, base)
	if err != nil {
		return inc, err
	}
	conn := res.Conn
	defer conn.Close()
	n.log.Debug("connected", "peer", from, "transport", res.Transport, "why", res.Why)
	if m.Ferry.Manifest != nil {
		if inc, err = s.takeManifest(conn, from, m, inc, base); err != nil {
			return inc, err
		}
	}
	if inc != nil {
		if err := inc.SetLink(transfer.Link{Transport: res.Transport, Route: res.Route, At: time.Now()}); err != nil {
			n.log.Warn("could not record the transfer's connection", "transfer", m.ID, "err", err)
		}
	}
	s.mu.Lock()
	key := from.String() + "/" + m.ID
	if s.conns[key] == nil {
		s.conns[key] = &connCount{}
	}
	s.conns[key].conns++
	s.mu.Unlock()
	sk := &sink{s: s, inc: inc, id: m.ID, base: base, from: from, checkToken: n.tokened[pid]}
	// The sender's hashes of files it offered before hashing them, while
	// this side runs the record layer (else the plugin's SDK passes them).
	conn.OnMeta(func(p []byte) error {
		i, sum, ok, err := record.DecodeFileHash(p)
		if !ok || err != nil {
			return err
		}
		return sk.FileHashed(ctx, i, sum)
	})
	prog := newProgress(n, base, sk.file)
	if err := n.protocols[pid].Receive(ctx, sdk.ReceiveRequest{Stream: conn, Sink: sk, Progress: prog}); err != nil {
		return inc, fmt.Errorf("receive over %s: %w", pid, err)
	}
	return inc, nil
}

// answer makes the connection m asks for: it sends the ACCEPT that f
// describes (f.Protocol is the connection's protocol), with this side's
// candidates, takes the sender's own, and returns the stream the sender
// nominates once its identity checks out.
func (s *server) answer(ctx context.Context, from sdk.PeerID, m *connect.Message, f connect.Ferry, base Event) (*connect.Result, error) {
	n := s.n
	accept := func(ctx context.Context, cands []connect.Candidate) error {
		a := s.reply(m, connect.TypeAccept, f)
		a.SetCandidateList(cands)
		return n.sendMessage(ctx, from, a)
	}
	remotes, stop := s.expectCandidates(from, m.ID)
	defer stop()
	ans := *n.answerer
	ans.Observe = n.observer(base)
	return ans.Answer(ctx, connect.AnswerRequest{From: from, Ask: m, Protocol: f.Protocol, Accept: accept, Candidates: remotes})
}

// refusals returns the files of inc refused on their own, for the ACCEPT
// or the manifest's verdict, in index order.
func refusals(inc *transfer.Incoming) []connect.Refusal {
	refused := inc.Refused()
	var out []connect.Refusal
	for _, i := range slices.Sorted(maps.Keys(refused)) {
		out = append(out, connect.Refusal{File: i, Reason: refused[i]})
	}
	return out
}

// reportRefused emits a refused event for each file of a new transfer
// refused on its own.
func (s *server) reportRefused(inc *transfer.Incoming, base Event) {
	rec := inc.Record()
	for _, i := range slices.Sorted(maps.Keys(rec.Refused)) {
		e := base
		e.Kind, e.File, e.Index, e.Message = EventRefused, rec.Files[i].Name, i, rec.Refused[i]
		s.n.emit(e)
		s.n.log.Warn("refused a file whose name this file system cannot hold; the rest goes on", "transfer", rec.ID, "file", rec.Files[i].Name, "why", rec.Refused[i])
	}
}

// manifestConn is the stream a manifest arrives on: a secured connection.
type manifestConn interface {
	io.ReadWriter
	SetDeadline(t time.Time) error
}

// takeManifest reads the manifest that follows a summary ASK on conn,
// checks it against the summary (digest, length, count, size) and records
// the transfer (a new one is accepted into the inbox, which refuses bad
// names; a resumed one takes the hashes it now has), then answers the
// sender: the transfer token, or why it is refused. Nothing is written
// before the whole manifest has checked out.
func (s *server) takeManifest(conn manifestConn, from sdk.PeerID, m *connect.Message, inc *transfer.Incoming, base Event) (*transfer.Incoming, error) {
	n := s.n
	_ = conn.SetDeadline(time.Now().Add(manifestWait))
	defer func() { _ = conn.SetDeadline(time.Time{}) }()
	files, folders, err := connect.ReadManifest(conn, *m.Ferry.Manifest)
	if err == nil {
		offer := sdk.Offer{TransferID: m.ID, Files: files}
		if inc == nil {
			inc, err = s.inbox.Accept(from, m.Sender.Name, offer, folders...)
		} else {
			err = inc.TakeHashes(files)
		}
		var ok connect.Verdict
		if err == nil {
			ok.Token, err = token.Issue(n.id.PrivateKey(), from, offer, time.Now(), 0)
		}
		if err == nil {
			s.reportRefused(inc, base)
			ok.Refused = refusals(inc)
			if err := connect.AnswerManifest(conn, ok, ""); err != nil {
				return inc, err
			}
			return inc, nil
		}
	}
	n.log.Warn("refused a manifest", "from", from, "transfer", m.ID, "err", err)
	e := base
	e.Kind, e.Message = EventRefused, err.Error()
	n.emit(e)
	_ = connect.AnswerManifest(conn, connect.Verdict{}, err.Error())
	return inc, permanentError{fmt.Errorf("manifest: %w", err)}
}

// sink is the FileSink a receiving protocol writes through: it maps the
// protocol's offers onto the accepted transfer.
type sink struct {
	s          *server
	inc        *transfer.Incoming
	id         string
	base       Event
	from       sdk.PeerID // the peer on the connection
	checkToken bool       // the protocol carries the transfer token: require it

	mu      sync.Mutex
	indices []int // record index of each file of the latest offer
}

func (k *sink) Decide(_ context.Context, o sdk.Offer) error {
	if o.TransferID != k.id {
		return fmt.Errorf("offer for transfer %s on the connection of transfer %s: %w", o.TransferID, k.id, sdk.ErrRefused)
	}
	if k.checkToken || o.Token != "" {
		if _, err := token.Check(k.s.n.id.PrivateKey(), k.from, o, o.Token, time.Now()); err != nil {
			k.s.n.log.Warn("refused an offer whose token does not check out", "peer", k.from, "transfer", o.TransferID, "err", err)
			return fmt.Errorf("%w: %w", err, sdk.ErrRefused)
		}
	}
	idx := make([]int, len(o.Files))
	for i, f := range o.Files {
		j, err := k.inc.Match(f)
		if err != nil {
			k.s.n.log.Warn("refused a file that is not part of the accepted transfer", "transfer", k.id, "file", f.Name, "err", err)
			return fmt.Errorf("%v: %w", err, sdk.ErrRefused)
		}
		idx[i] = j
	}
	k.mu.Lock()
	k.indices = idx
	k.mu.Unlock()
	return nil
}

// FileHashed records the SHA-256 the sender gave, after its offer, for file
// index of the ASK.
func (k *sink) FileHashed(ctx context.Context, index int, sum []byte) error {
	return k.inc.SetHash(index, sum)
}

func (k *sink) index(i int) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if i < 0 || i >= len(k.indices) {
		return 0, false
	}
	return k.indices[i], true
}

func (k *sink) file(i int) (string, int64) {
	j, ok := k.index(i)
	if !ok {
		return "", 0
	}
	f := k.inc.File(j)
	return f.Name, f.Size
}

// State says which files of the accepted offer are settled or started
// (sdk.StatefulSink), so that a protocol offered many files opens only
// those before it answers.
func (k *sink) State(context.Context) (sdk.SinkState, error) {
	settled, journaled, err := k.inc.FileStates()
	if err != nil {
		return sdk.SinkState{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var st sdk.SinkState
	for i, j := range k.indices {
		switch {
		case settled[j]:
			st.Done = append(st.Done, i)
		case journaled[j]:
			st.Started = append(st.Started, i)
		}
	}
	return st, nil
}

func (k *sink) Create(ctx context.Context, i int) (sdk.PartFile, error) {
	j, ok := k.index(i)
	if !ok {
		return nil, fmt.Errorf("create file %d of an offer of %d: %w", i, len(k.indices), sdk.ErrNotFound)
	}
	p, err := k.inc.Create(ctx, j)
	if err != nil {
		return nil, reason.Wrap(err) // a full disk reaches the protocol as sdk.ErrNoSpace
	}
	f := k.inc.File(j)
	if d, ok := p.(interface{ Damaged() [][2]int64 }); ok {
		if bad := ranges.Set(d.Damaged()); len(bad) > 0 {
			k.s.n.log.Warn("part file altered on disk since the transfer was interrupted; fetching the damaged blocks again",
				"file", f.Name, "blocks", bad.Format(4), "bytes", bad.Total())
		}
	}
	e := k.base
	e.Kind, e.File, e.Index, e.Offset, e.Total = EventFile, f.Name, j, p.Offset(), f.Size
	k.s.n.emit(e)
	return &part{PartFile: p, k: k, index: j}, nil
}

// part reports a verified file when the protocol closes it complete.
type part struct {
	sdk.PartFile
	k     *sink
	index int
}

// File keeps the part file's descriptor reachable for an external
// protocol plugin.
func (p *part) File() *os.File {
	if fb, ok := p.PartFile.(sdk.FileBacked); ok {
		return fb.File()
	}
	return nil
}

// Missing passes on the part file's missing ranges, for protocols that
// resume by chunks.
func (p *part) Missing() [][2]int64 {
	if rp, ok := p.PartFile.(sdk.RangedPart); ok {
		return rp.Missing()
	}
	return [][2]int64{{p.Offset(), p.k.inc.File(p.index).Size}}
}

// HashState and CommitHashed pass on the part file's SHA-256 hand-off, so a
// plugin's SDK that hashes what it writes spares the read-back (see
// transfer.Part.CommitHashed).
func (p *part) HashState() (int64, []byte) {
	if hp, ok := p.PartFile.(*transfer.Part); ok {
		return hp.HashState()
	}
	return 0, nil
}

// CommitHashed: see HashState.
func (p *part) CommitHashed(ctx context.Context, off, n, hashed int64, state []byte) error {
	if hp, ok := p.PartFile.(*transfer.Part); ok {
		return reason.Wrap(hp.CommitHashed(ctx, off, n, hashed, state))
	}
	return p.Commit(ctx, off, n)
}

// WriteAt and Commit say a full disk as sdk.ErrNoSpace, which survives the
// trip to a protocol plugin (ENOSPC alone arrives as text).
func (p *part) WriteAt(b []byte, off int64) (int, error) {
	n, err := p.PartFile.WriteAt(b, off)
	return n, reason.Wrap(err)
}

// Commit: see WriteAt.
func (p *part) Commit(ctx context.Context, off, n int64) error {
	return reason.Wrap(p.PartFile.Commit(ctx, off, n))
}

func (p *part) Close(ctx context.Context, complete bool) error {
	if err := p.PartFile.Close(ctx, complete); err != nil {
		return reason.Wrap(err)
	}
	if complete && !p.k.inc.IsRefused(p.index) {
		f := p.k.inc.File(p.index)
		e := p.k.base
		e.Kind, e.File, e.Index, e.Total = EventVerified, f.Name, p.index, f.Size
		if final := p.k.inc.Final(p.index); final != "" {
			e.Path = filepath.Join(p.k.s.inbox.Dir(), filepath.FromSlash(final))
		}
		p.k.s.n.emit(e)
	}
	return nil
}
