package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// saveEvery is the least time between two saves of an outgoing transfer's
// progress.
const saveEvery = time.Second

// Outgoing sends transfers recorded in an outbox, so that one that is
// interrupted (the sender killed, the peer gone) resumes later under the
// same transfer ID, and the receiver asks only for what it lacks. It is
// what `ferry send`, `ferry resume` and `ferry receive --resume` use, and
// what an app embedding the core calls. Make it with [Node.Outgoing].
type Outgoing struct {
	n   *Node
	box *transfer.Outbox
	log *slog.Logger

	// Claim, if set, is asked before AutoResume resumes rec: it returns
	// the context to resume it under and release, called with the
	// resume's outcome once it has stopped, or ok false to leave rec
	// alone (a daemon's paused transfer, or one it runs already).
	Claim func(rec *transfer.Outgoing) (ctx context.Context, release func(error), ok bool)
}

// Outgoing returns the sender of the transfers recorded in box. The caller
// keeps box open while it is in use, and closes it.
func (n *Node) Outgoing(box *transfer.Outbox) *Outgoing {
	return &Outgoing{n: n, box: box, log: n.log}
}

// Record returns the outbox record for sending man (scanned from paths) to
// peer: the unfinished one with the same peer and files, to be resumed
// (resumed is true; protocol, if set, replaces its protocol), or a new one.
// A new record is saved by [Outgoing.Send].
func (o *Outgoing) Record(man *transfer.Manifest, paths []string, peer sdk.PeerInfo, protocol string) (rec *transfer.Outgoing, resumed bool, err error) {
	files := man.Offer("").Files
	if rec := o.box.Match(peer.ID, files); rec != nil {
		if protocol != "" {
			rec.Protocol = protocol
		}
		return rec, true, nil
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", p, err)
		}
		abs[i] = a
	}
	return &transfer.Outgoing{
		ID: transfer.NewID(), Peer: peer.ID, PeerName: peer.Name, Protocol: protocol,
		Paths: abs, Files: files, Sent: make([]int64, len(files)),
	}, false, nil
}

// Send sends rec's files (man, scanned from rec.Paths) to peer under rec's
// transfer ID, resuming after broken connections for retryFor. The record
// is saved before the offer and kept current from progress events; it is
// removed once every file is verified, or when the receiver refuses.
func (o *Outgoing) Send(ctx context.Context, rec *transfer.Outgoing, man *transfer.Manifest, peer sdk.PeerInfo, retryFor time.Duration) error {
	return o.SendAmong(ctx, rec, man, peer, nil, retryFor)
}

// SendAmong is Send for one receiver of several: its ASK names the others
// too (seed 003's receivers list), each of whom gets an offer, a transfer
// and a resume of its own.
func (o *Outgoing) SendAmong(ctx context.Context, rec *transfer.Outgoing, man *transfer.Manifest, peer sdk.PeerInfo, others []sdk.PeerInfo, retryFor time.Duration) error {
	if len(rec.Sent) != len(rec.Files) {
		rec.Sent = make([]int64, len(rec.Files))
	}
	// An earlier attempt may have left the receiver a part of a file.
	earlier := rec.LastError != "" || rec.Done() > 0
	rec.LastError = ""
	if err := o.box.Save(rec); err != nil {
		return err
	}
	t := newTracker(o.box, rec, o.log)
	unsubscribe := o.n.Subscribe(t.event)
	err := o.n.Send(ctx, peer, man, SendOptions{RetryFor: retryFor, TransferID: rec.ID, Protocol: rec.Protocol, Resume: earlier, Receivers: others,
		Instance: rec.Instance, Accepted: t.accepted, Confirmed: t.confirmed})
	unsubscribe()
	if err == nil || errors.Is(err, sdk.ErrRefused) {
		// Nothing the tracker still holds matters: the record goes.
		t.stop(false)
		if rerr := o.box.Remove(rec.ID); rerr != nil {
			o.log.Warn("could not remove the finished transfer from the outbox", "transfer", rec.ID, "err", rerr)
		}
		return err
	}
	t.fail(err)
	t.stop(true)
	return err
}

// Resume scans rec's paths again and, if they still hold the same files,
// sends the rest of the transfer, waiting up to findFor for the peer.
func (o *Outgoing) Resume(ctx context.Context, rec *transfer.Outgoing, findFor, retryFor time.Duration) error {
	// Deferred: Send hashes what the resume needs (from checkpoints).
	man, err := transfer.ScanWith(ctx, rec.Paths, transfer.ScanOptions{Cache: o.n.hashCache, Defer: true})
	if err != nil {
		return fmt.Errorf("transfer %s: scan again: %w", rec.ID, err)
	}
	if !rec.SameFiles(man.Offer("").Files) {
		return fmt.Errorf("transfer %s: the files under %v changed since it started, so it cannot resume; send them again as a new transfer", rec.ID, rec.Paths)
	}
	peer, err := o.n.Find(ctx, rec.Peer, findFor)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", rec.ID, err)
	}
	return o.Send(ctx, rec, man, peer, retryFor)
}

// AutoResume resumes, in the background, each unfinished transfer whose
// peer is (or comes) in sight, until ctx ends; wait returns once every
// resume it started has stopped. It is what a running receiver does for
// the transfers its device sends.
func (o *Outgoing) AutoResume(ctx context.Context, retryFor time.Duration) (wait func()) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[string]bool{}
	)
	try := func(peer sdk.PeerID) {
		recs, err := o.box.List()
		if err != nil {
			o.log.Warn("outbox", "err", err)
		}
		for _, rec := range recs {
			if rec.Peer != peer {
				continue
			}
			mu.Lock()
			busy := running[rec.ID]
			running[rec.ID] = true
			mu.Unlock()
			if busy {
				continue
			}
			rctx, release := ctx, func(error) {}
			if o.Claim != nil {
				c, r, ok := o.Claim(rec)
				if !ok {
					mu.Lock()
					delete(running, rec.ID)
					mu.Unlock()
					continue
				}
				rctx, release = c, r
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(running, rec.ID); mu.Unlock() }()
				o.log.Info("peer is back: resuming the transfer to it", "peer", rec.Peer, "transfer", rec.ID)
				err := o.Resume(rctx, rec, 10*time.Second, retryFor)
				defer release(err)
				if err != nil && rctx.Err() == nil {
					o.log.Warn("automatic resume stopped", "transfer", rec.ID, "err", err)
				}
			}()
		}
	}
	peers := make(chan sdk.PeerID, 64)
	remove := o.n.Subscribe(func(e Event) {
		if e.Kind != EventPeer || e.State != sdk.PeerJoined.String() {
			return
		}
		id, err := sdk.ParsePeerID(e.Peer)
		if err != nil {
			return
		}
		select {
		case peers <- id:
		default:
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer remove()
		for _, p := range o.n.Peers() {
			try(p.ID)
		}
		for {
			select {
			case p := <-peers:
				try(p)
			case <-ctx.Done():
				return
			}
		}
	}()
	return wg.Wait
}

// tracker keeps an outgoing transfer's record current from node events.
//
// Its saves are written by a goroutine of its own, the latest state at a
// time, so that no fsync sits between the receiver's answer and the
// connection, or between the connection and the first byte: the record
// that makes the transfer resumable is written before the offer
// (SendAmong). What the tracker adds to it (the receiver instance, which
// resumes go to; the connection and the bytes confirmed, which `ferry
// status` shows after a crash) is written saveDelay after it changed:
// changes within the delay go in one save, and a transfer that ends first
// (a small file) writes none. A resume from a record one save behind asks
// the receiver what it holds, as every resume does.
type tracker struct {
	box *transfer.Outbox
	log *slog.Logger

	mu        sync.Mutex
	rec       *transfer.Outgoing
	last      time.Time
	lastBytes int64 // done at the last save
	// done and total are rec.Done() and rec.Total(), kept as events come
	// (summing them for each event cost O(files) an event).
	done, total int64
	counted     bool
	dirty       bool // a save is due
	stopped     bool

	due time.Time // when the save due is written

	kick     chan struct{} // a save fell due
	stopping chan struct{} // closed by stop
	closed   chan struct{} // the saver returned
}

func newTracker(box *transfer.Outbox, rec *transfer.Outgoing, log *slog.Logger) *tracker {
	t := &tracker{box: box, rec: rec, log: log, kick: make(chan struct{}, 1), stopping: make(chan struct{}), closed: make(chan struct{})}
	go t.saver()
	return t
}

// saveDelay is how long a due save waits for more changes to go with it.
const saveDelay = 20 * time.Millisecond

// saver writes the record when a save falls due, until stop (which
// writes or drops what is still due).
func (t *tracker) saver() {
	defer close(t.closed)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		t.mu.Lock()
		dirty, wait := t.dirty, time.Until(t.due)
		t.mu.Unlock()
		switch {
		case dirty && wait <= 0:
			t.write()
			continue
		case dirty:
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-t.kick: // an earlier due time, perhaps
			timer.Stop()
		case <-t.stopping:
			timer.Stop()
			return
		}
	}
}

// write saves the record's latest state if a save is due.
func (t *tracker) write() {
	t.mu.Lock()
	if !t.dirty {
		t.mu.Unlock()
		return
	}
	t.dirty = false
	snap := *t.rec
	snap.Sent = slices.Clone(t.rec.Sent)
	t.mu.Unlock()
	if err := t.box.Save(&snap); err != nil {
		t.log.Warn("could not save the transfer's progress", "transfer", snap.ID, "err", err)
	}
}

// stop ends the saver; with flush, a save still due is written first
// (durably, before stop returns), else it is dropped. Events after stop
// change nothing on disk.
func (t *tracker) stop(flush bool) {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	if !flush {
		t.dirty = false
	}
	t.mu.Unlock()
	close(t.stopping)
	<-t.closed
	t.write()
}

func (t *tracker) event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Transfer != t.rec.ID {
		return
	}
	if e.Kind == EventState && e.State == connect.Connected.String() {
		t.rec.Link = &transfer.Link{Transport: e.Transport, Route: e.Route, At: e.Time}
		t.saveLocked()
		return
	}
	if e.Index < 0 || e.Index >= len(t.rec.Sent) {
		return
	}
	// A file's start is at the offset the receiver said it holds (a
	// resume); bytes written to the stream since are not counted: only
	// what the receiver confirms is (confirmed), so that `ferry status`
	// never shows more than the receiver has.
	if e.Kind != EventFile {
		return
	}
	t.advanceLocked(e.Index, e.Offset)
}

// confirmed takes the bytes of file index the receiver has confirmed.
func (t *tracker) confirmed(index int, done int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if index < 0 || index >= len(t.rec.Sent) {
		return
	}
	t.advanceLocked(index, done)
}

// advanceLocked records that the receiver holds at bytes of file index,
// if that is more than known, and saves every second and at every
// twentieth of the transfer, so a killed sender's record is never far
// behind.
func (t *tracker) advanceLocked(index int, at int64) {
	if !t.counted {
		t.done, t.total, t.counted = t.rec.Done(), t.rec.Total(), true
	}
	size := t.rec.Files[index].Size
	if old := t.rec.Sent[index]; at > old {
		t.done += min(at, size) - min(old, size)
		t.rec.Sent[index] = min(at, size)
	}
	if time.Since(t.last) >= saveEvery || t.done-t.lastBytes >= t.total/20 {
		t.saveLocked()
	}
}

// accepted keeps the receiver instance that accepted the transfer (and
// holds its journal), for resumes to go to it.
func (t *tracker) accepted(instance string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.Instance = instance
	t.saveLocked()
}

func (t *tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.LastError = err.Error()
	t.saveLocked()
}

// saveLocked has the saver write the record within saveDelay.
func (t *tracker) saveLocked() {
	t.last, t.lastBytes = time.Now(), t.rec.Done()
	t.done = t.lastBytes
	if t.stopped {
		return
	}
	if !t.dirty {
		t.due = time.Now().Add(saveDelay)
	}
	t.dirty = true
	select {
	case t.kick <- struct{}{}:
	default: // the saver is told already; it reads the due time
	}
}
