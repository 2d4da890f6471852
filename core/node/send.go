package node

import (
	"context"
	"fmt"
	"github.com/ferry-p2p/ferry/sdk/record"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/filehash"
)

// SendOptions tune one Send.
type SendOptions struct {
	// RetryFor is how long the sender keeps resuming after a connection
	// breaks (the receiver restarted, the network dropped). Zero means 1m.
	RetryFor time.Duration
	// Receivers are the peers named in the ASK besides the one sent to
	// (one ASK may name several receivers; each answers for itself).
	Receivers []sdk.PeerInfo
	// TransferID is the transfer's ID: an earlier one to resume it (the
	// receiver then asks only for what it lacks), or "" for a new one.
	TransferID string
	// Protocol, if set, is the only protocol offered: a protocol ID, or
	// the name of a configured protocol instance or plugin.
	Protocol string
	// Resume says the transfer was under way before (the receiver may hold
	// part of it): every file is hashed before the offer, since a file
	// resumed past its start is not read whole again. A new transfer's
	// offer goes out at once and its files are hashed as they are sent.
	Resume bool
	// Token, if set, replaces the receiver's transfer token before the
	// protocol presents it: a tool for testing receivers (`ferry debug
	// send --token-file`), never set in normal use.
	Token func(issued string) string
	// Instance is the receiver instance that holds the transfer's journal
	// (from an earlier ACCEPT), "" if none is known: the ASK names it, so
	// that another process running the same identity does not take the
	// transfer up from zero.
	Instance string
	// Accepted, if set, is called with the instance of each ACCEPT.
	Accepted func(instance string)
	// Confirmed, if set, is called with the bytes of file index the
	// receiver has confirmed it holds (from the protocol, when it knows:
	// sdk.Confirmations), which is what an outbox record keeps.
	Confirmed func(index int, done int64)
}

// Send offers the manifest's files to peer and transfers them once the
// peer accepts. It returns nil only when the receiver has verified every
// file. A broken connection is resumed (from the receiver's journal) for
// up to RetryFor; a refusal, a request the peer did not process, or an
// identity mismatch ends it at once.
func (n *Node) Send(ctx context.Context, peer sdk.PeerInfo, man *transfer.Manifest, opts SendOptions) error {
	// The hashes learnt while sending are kept for the next send of the
	// same files, whatever becomes of this one.
	defer func() {
		if err := n.hashCache.Flush(); err != nil {
			n.log.Debug("could not save the hash cache", "err", err)
		}
	}()
	if opts.RetryFor == 0 {
		opts.RetryFor = time.Minute
	}
	id := opts.TransferID
	if id == "" {
		id = transfer.NewID()
	}
	if !transfer.ValidID(id) {
		return fmt.Errorf("send: transfer id %q is not 32 hex digits", id)
	}
	protos := n.protoOrder
	if opts.Protocol != "" {
		pid, err := n.protocolID(opts.Protocol)
		if err != nil {
			return err
		}
		protos = []string{pid}
	}
	offer := man.Offer(id)
	protos, err := n.carrying(protos, offer)
	if err != nil {
		return err
	}
	mf, err := manifestFor(offer, man.Folders)
	if err != nil {
		return err
	}
	src := &source{n: n, inner: man.Source(), man: man, offer: offer, peer: peer.ID}
	holder := opts.Instance // the receiver instance holding the journal
	base := Event{Peer: peer.ID.String(), PeerName: peer.Name, Transfer: id}
	if err := n.checkAccount(peer.ID); err != nil {
		e := base
		e.Kind, e.Message, e.Code = EventError, err.Error(), ErrorCode(err)
		n.emit(e)
		n.log.Warn("not sending to a revoked device", "peer", peer.ID, "err", err)
		return err
	}
	var lastBreak time.Time
	delay, spaceWait := 500*time.Millisecond, spaceWaitFirst
	alteredConns := 0 // connections on which a record failed to authenticate
	for attempt := 0; ; attempt++ {
		if attempt > 0 || opts.Resume {
			// The receiver may hold a prefix this side will not read
			// again. A file with a checkpoint is hashed as it is
			// resumed, from the checkpoint on; one without is hashed
			// now, and from the third attempt on every one is (a file
			// the receiver holds whole is not read again, so its hash
			// must come with the offer).
			hash := man.HashMissingUnlessCheckpointed
			if attempt >= 2 {
				hash = man.HashMissing
			}
			if err := hash(ctx, n.hashCache); err != nil {
				e := base
				e.Kind, e.Message, e.Code = EventError, err.Error(), ErrorCode(err)
				n.emit(e)
				return err
			}
			offer = man.Offer(id)
			src.offer = offer
			if mf, err = manifestFor(offer, man.Folders); err != nil {
				return err
			}
		}
		opened := src.opens.Load()
		err := n.sendOnce(ctx, peer, opts, protos, offer, mf, src, attempt, &holder)
		if src.opens.Load() > opened {
			// The attempt got as far as sending data: the path works,
			// so the next try need not wait long.
			delay = 500 * time.Millisecond
		}
		if err == nil {
			e := base
			e.Kind, e.Files, e.Total = EventDone, len(offer.Files), man.TotalSize()
			n.emit(e)
			return nil
		}
		if lastBreak.IsZero() {
			lastBreak = time.Now()
		}
		class := classify(ctx, err)
		headline, wait := "", delay
		switch {
		case altered(err):
			alteredConns++
			headline = alteredHeadline(alteredConns, attempt+1)
			n.log.Warn("the stream was altered on the path (tampering or corruption); resuming on a new connection",
				"peer", peer.ID, "transfer", id, "altered_connections", alteredConns, "connections", attempt+1, "err", err)
		case class == waitSpace:
			wait = spaceWait
			headline = noSpaceHeadline(wait)
			n.log.Warn("the receiver's disk is full; waiting for room", "peer", peer.ID, "transfer", id, "wait", wait.String(), "err", err)
		}
		if headline != "" {
			err = fmt.Errorf("%s: %w", headline, err)
		}
		if class == permanent || time.Since(lastBreak) > opts.RetryFor {
			e := base
			e.Kind, e.Message, e.Code = EventError, err.Error(), ErrorCode(err)
			n.emit(e)
			return err
		}
		e := base
		e.Kind, e.Message, e.Code = EventRetry, err.Error(), ErrorCode(err)
		e.Attempt, e.WaitMS, e.Until = attempt+2, wait.Milliseconds(), lastBreak.Add(opts.RetryFor)
		n.emit(e)
		// The retry event says it; the log keeps the detail for --log-level debug.
		n.log.Debug("transfer interrupted; resuming", "peer", peer.ID, "transfer", id, "err", err, "attempt", attempt+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		if class == waitSpace {
			spaceWait = min(spaceWait*2, spaceWaitMost)
		} else {
			delay = min(delay*2, 4*time.Second)
		}
	}
}

// manifestFor returns the manifest that follows an ASK on the stream when
// the offer is too large to list in it, or nil.
func manifestFor(offer sdk.Offer, folders []string) (*connect.Manifest, error) {
	if !connect.NeedsManifest(offer, folders) {
		return nil, nil
	}
	mf, err := connect.NewManifest(offer, folders)
	if err != nil {
		return nil, permanentError{err}
	}
	return mf, nil
}

// manifestWait bounds the exchange of a manifest on a new connection:
// sending it and the receiver's check and answer.
const manifestWait = 2 * time.Minute

// carrying returns the protocols of protos that can carry every file name
// of offer (a protocol may bound a name's length: ftv2a's FILE_SENDREQUEST
// holds 255 bytes), so that one long name does not fail the whole
// transfer when another protocol can carry it. With none left it fails
// before anything is sent, naming the file.
func (n *Node) carrying(protos []string, offer sdk.Offer) ([]string, error) {
	longest := ""
	for _, f := range offer.Files {
		if len(f.Name) > len(longest) {
			longest = f.Name
		}
	}
	var out, dropped []string
	for _, pid := range protos {
		if limit, ok := n.nameMax[pid]; ok && len(longest) > limit {
			dropped = append(dropped, fmt.Sprintf("%s (at most %d bytes)", pid, limit))
			continue
		}
		out = append(out, pid)
	}
	if len(out) == 0 {
		return nil, permanentError{fmt.Errorf("file name %q is %d bytes long, and no protocol offered can carry it: %s; configure one that can (jsonchunk has no bound)", longest, len(longest), strings.Join(dropped, ", "))}
	}
	if len(dropped) > 0 {
		n.log.Info("not offering protocols that cannot carry a file name", "name_bytes", len(longest), "dropped", strings.Join(dropped, ", "), "offered", strings.Join(out, ", "))
	}
	return out, nil
}

// protocolID resolves what the user named: a protocol ID, or the name of a
// configured protocol instance or of its plugin.
func (n *Node) protocolID(name string) (string, error) {
	if _, ok := n.protocols[name]; ok {
		return name, nil
	}
	if pid, ok := n.protoNames[name]; ok {
		return pid, nil
	}
	return "", fmt.Errorf("protocol %q is not configured here (configured: %s)", name, strings.Join(slices.Sorted(maps.Keys(n.protoNames)), ", "))
}

// sendOnce makes one connection to peer through core/connect (which walks
// Discovering to Connected and picks the transport) and runs the protocol
// the receiver chose on it.
func (n *Node) sendOnce(ctx context.Context, peer sdk.PeerInfo, opts SendOptions, protos []string, offer sdk.Offer, mf *connect.Manifest, src *source, attempt int, holder *string) error {
	base := Event{Peer: peer.ID.String(), PeerName: peer.Name, Transfer: offer.TransferID}
	d := *n.dialer
	d.Observe = n.observer(base)
	ask := func(info sdk.PeerInfo) *connect.Message {
		m := &connect.Message{
			Type: connect.TypeAsk, ID: offer.TransferID,
			Sender: connect.User{Name: n.cfg.DeviceName(), ID: n.id.ID.String()},
			Time:   connect.Now(time.Now()),
			Ferry:  connect.Ferry{V: connect.MessageVersion, Transports: n.transports.Names(), Protocols: protos, Instance: n.instance, For: *holder},
		}
		if mf != nil {
			m.Ferry.Manifest = &mf.Summary
		} else {
			m.Files, m.Ferry.Folders = connect.FilesOf(offer), src.man.Folders
		}
		m.Receivers = append(m.Receivers, connect.User{Name: info.Name, ID: info.ID.String()})
		for _, r := range opts.Receivers {
			if r.ID != info.ID {
				m.Receivers = append(m.Receivers, connect.User{Name: r.Name, ID: r.ID.String()})
			}
		}
		if attempt == 0 {
			n.log.Debug("offer sent; waiting for the receiver to accept", "peer", peer.ID, "name", info.Name, "files", len(offer.Files))
		}
		return m
	}
	d.Answered = func(ans *connect.Message) {
		e := base
		if ans.Type == connect.TypeRefuse {
			e.Kind, e.Message = EventRefused, ans.Ferry.Reason
		} else {
			if ans.Ferry.Instance != "" && ans.Ferry.Instance != *holder {
				*holder = ans.Ferry.Instance
				if opts.Accepted != nil {
					opts.Accepted(ans.Ferry.Instance)
				}
			}
			e.Kind, e.Files = EventAccepted, len(offer.Files)
			for _, f := range offer.Files {
				e.Total += f.Size
			}
		}
		n.emit(e)
	}
	res, err := d.Dial(ctx, peer.ID, attempt+1, ask)
	if err != nil {
		return err
	}
	conn := res.Conn
	defer conn.Close()
	src.use(conn)
	defer src.use(nil)
	n.log.Debug("connected", "peer", peer.ID, "transport", res.Transport, "why", res.Why)
	pid := res.Answer.Ferry.Protocol
	proto, ok := n.protocols[pid]
	if !ok {
		return permanentError{fmt.Errorf("receiver chose protocol %q, which this device does not have", pid)}
	}
	offer.Token = res.Answer.Ferry.Token
	refused := res.Answer.Ferry.Refused
	if mf != nil {
		// The file list follows the ASK's summary; the receiver checks it
		// and issues the token for its files.
		_ = conn.SetDeadline(time.Now().Add(manifestWait))
		v, err := connect.WriteManifest(conn, mf)
		_ = conn.SetDeadline(time.Time{})
		if err != nil {
			return err
		}
		offer.Token, refused = v.Token, v.Refused
		n.log.Debug("manifest accepted", "peer", peer.ID, "files", mf.Summary.Files, "bytes", mf.Summary.Bytes)
	}
	src.refusedByPeer(refused, base)
	if opts.Token != nil {
		offer.Token = opts.Token(offer.Token)
	}
	prog := newProgress(n, base, func(i int) (string, int64) { return offer.Files[i].Name, offer.Files[i].Size })
	prog.confirmed = opts.Confirmed
	if err := proto.Send(ctx, sdk.SendRequest{Stream: conn, Offer: offer, Source: src, Progress: prog}); err != nil {
		return fmt.Errorf("send over %s: %w", pid, err)
	}
	return nil
}

// source reports each file as the protocol opens it, with the offset a
// resumed transfer starts from.
type source struct {
	n     *Node
	inner sdk.FileSource
	offer sdk.Offer
	peer  sdk.PeerID
	man   *transfer.Manifest

	mu      sync.Mutex // guards man's hashes and Skipped, conn and refused
	conn    *secure.Conn
	refused map[int]bool // files the receiver refused on their own

	opens atomic.Int64 // files opened to be sent, over all attempts
}

// refusedByPeer notes the files the receiver refused on their own (names
// its file system cannot hold): each is reported once, as a refused event
// and in the manifest's Skipped, so that the send ends with the exit
// status of a send that skipped some paths. The protocol still offers
// them; the receiver answers as for a file it holds whole.
func (s *source) refusedByPeer(refused []connect.Refusal, base Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range refused {
		if r.File < 0 || r.File >= len(s.man.Files) || s.refused[r.File] {
			continue
		}
		if s.refused == nil {
			s.refused = map[int]bool{}
		}
		s.refused[r.File] = true
		lf := s.man.Files[r.File]
		s.man.Skipped = append(s.man.Skipped, fmt.Sprintf("%s: refused by the receiver: %s", lf.Path, r.Reason))
		e := base
		e.Kind, e.File, e.Index, e.Message = EventRefused, lf.Info.Name, r.File, r.Reason
		s.n.emit(e)
	}
}

func (s *source) Open(ctx context.Context, index int, offset int64) (io.ReadCloser, error) {
	r, err := s.inner.Open(ctx, index, offset)
	if err != nil {
		return nil, permanentError{err}
	}
	s.opens.Add(1)
	f := s.offer.Files[index]
	if offset > 0 {
		s.n.log.Info("resuming file at the receiver's offset (SEEK)", "file", f.Name, "offset", offset, "size", f.Size)
	}
	s.n.emit(Event{Kind: EventFile, Peer: s.peer.String(), Transfer: s.offer.TransferID, File: f.Name, Index: index, Offset: offset, Total: f.Size})
	s.mu.Lock()
	known := len(s.man.Files[index].Info.SHA256) > 0
	s.mu.Unlock()
	file, ok := r.(*os.File)
	if !ok || known {
		return r, nil
	}
	hr := &hashingReader{filehash.NewReader(file, f.Size,
		func(sum []byte) { _ = s.FileHashed(ctx, index, sum) },
		func(off int64, st []byte) { _ = s.FileCheckpoint(ctx, index, off, st) },
	)}
	if offset == 0 {
		return hr, nil
	}
	// Resumed past the start: go on from the last checkpoint before the
	// offset, if there is one; else the file goes unhashed and the
	// receiver keeps it for a resume whose offer carries the hash.
	s.mu.Lock()
	off, st := s.man.Checkpoint(index, s.n.hashCache)
	s.mu.Unlock()
	if st == nil || hr.Resume(off, st, offset) != nil {
		return r, nil
	}
	return hr, nil
}

// use sets the connection the transfer runs on, nil when it ended.
func (s *source) use(c *secure.Conn) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
}

// FileHashed takes the SHA-256 of file index, read whole as it was sent
// (here, or in the protocol plugin's process), keeps it for the offers of
// any resume and in the hash cache, and sends it to the receiver in a meta
// record while this side runs the record layer (when the stream was handed
// over to the plugin, its SDK sends it).
func (s *source) FileHashed(ctx context.Context, index int, sum []byte) error {
	s.mu.Lock()
	err := s.man.SetHash(index, sum, s.n.hashCache)
	conn := s.conn
	s.mu.Unlock()
	if err != nil {
		s.n.log.Warn("the hash of a file read as it was sent does not match its earlier one: it changed; the receiver will refuse it", "err", err)
	}
	if conn != nil {
		_ = conn.WriteMeta(record.EncodeFileHash(index, sum)) // fails once handed over: the plugin's SDK sends it
	}
	return err
}

// FileCheckpoint keeps the SHA-256 state of file index's first off bytes,
// read as it was sent, in the hash cache: a transfer that resumes after a
// restart hashes only the rest of the file before its offer.
func (s *source) FileCheckpoint(ctx context.Context, index int, off int64, state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.man.SetCheckpoint(index, off, state, s.n.hashCache)
}

// hashingReader is a file offered before it was hashed: read here (by a
// builtin protocol), it hashes as it goes; handed to a protocol plugin, it
// gives its descriptor (File) and asks the plugin's SDK to hash instead
// (HashWanted, from the checkpoint HashFrom gives).
type hashingReader struct{ *filehash.Reader }

// HashWanted says that the file's hash is not known yet.
func (r *hashingReader) HashWanted() bool { return true }

// HashFrom gives a plugin's SDK the checkpoint to go on from.
func (r *hashingReader) HashFrom() (int64, []byte) { return r.From() }
