package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// saveEvery is the least time between two saves of an outgoing transfer's
// progress.
const saveEvery = time.Second

// openOutbox opens the outbox of unfinished outgoing transfers in the
// Ferry home.
func openOutbox(s *session) (*transfer.Outbox, error) {
	return transfer.OpenOutbox(filepath.Join(s.cfg.Home(), "outbox"))
}

// newOutgoing makes the record of a new transfer of man to peer.
func newOutgoing(man *transfer.Manifest, paths []string, peer sdk.PeerInfo, protocol string) (*transfer.Outgoing, error) {
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		abs[i] = a
	}
	files := man.Offer("").Files
	return &transfer.Outgoing{
		ID: transfer.NewID(), Peer: peer.ID, PeerName: peer.Name, Protocol: protocol,
		Paths: abs, Files: files, Sent: make([]int64, len(files)),
	}, nil
}

// sendRecorded sends rec's files (man, scanned from rec.Paths) to peer
// under rec's transfer ID. The record is saved before the offer and kept
// current from progress events, so that an interrupted transfer can be
// resumed (`ferry resume`, or the same `ferry send` again); it is removed
// once every file is verified, or when the receiver refuses.
func (a *app) sendRecorded(ctx context.Context, s *session, box *transfer.Outbox, rec *transfer.Outgoing, man *transfer.Manifest, peer sdk.PeerInfo, retryFor time.Duration) error {
	if len(rec.Sent) != len(rec.Files) {
		rec.Sent = make([]int64, len(rec.Files))
	}
	rec.LastError = ""
	if err := box.Save(rec); err != nil {
		return err
	}
	t := &tracker{box: box, rec: rec, log: a}
	defer s.hook(t.event)()
	err := s.node.Send(ctx, peer, man, node.SendOptions{RetryFor: retryFor, TransferID: rec.ID, Protocol: rec.Protocol})
	if err == nil || errors.Is(err, sdk.ErrRefused) {
		if rerr := box.Remove(rec.ID); rerr != nil {
			a.log.Warn("could not remove the finished transfer from the outbox", "transfer", rec.ID, "err", rerr)
		}
		return err
	}
	t.fail(err)
	if ctx.Err() != nil {
		return fmt.Errorf("%w (resume with `ferry resume %s`)", err, shortID(rec.ID))
	}
	return fmt.Errorf("%w (resume with `ferry resume %s`, or run the same send again)", err, shortID(rec.ID))
}

// tracker keeps an outgoing transfer's record current from node events.
type tracker struct {
	box *transfer.Outbox
	log *app

	mu        sync.Mutex
	rec       *transfer.Outgoing
	last      time.Time
	lastBytes int64 // rec.Done() at the last save
}

func (t *tracker) event(e node.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Transfer != t.rec.ID || e.Index < 0 || e.Index >= len(t.rec.Sent) {
		return
	}
	switch e.Kind {
	case node.EventFile:
		t.rec.Sent[e.Index] = max(t.rec.Sent[e.Index], e.Offset)
	case node.EventProgress:
		t.rec.Sent[e.Index] = max(t.rec.Sent[e.Index], e.Bytes)
	default:
		return
	}
	// Save every second, and at every twentieth of the transfer, so a
	// killed sender's record is never far behind.
	if time.Since(t.last) >= saveEvery || t.rec.Done()-t.lastBytes >= t.rec.Total()/20 {
		t.saveLocked()
	}
}

func (t *tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.LastError = err.Error()
	t.saveLocked()
}

func (t *tracker) saveLocked() {
	t.last, t.lastBytes = time.Now(), t.rec.Done()
	if err := t.box.Save(t.rec); err != nil {
		t.log.log.Warn("could not save the transfer's progress", "transfer", t.rec.ID, "err", err)
	}
}

// resumeRecorded scans rec's paths again and, if they still hold the same
// files, sends the rest of the transfer, waiting up to findFor for the
// peer.
func (a *app) resumeRecorded(ctx context.Context, s *session, box *transfer.Outbox, rec *transfer.Outgoing, findFor, retryFor time.Duration) error {
	man, err := transfer.Scan(ctx, rec.Paths, nil)
	if err != nil {
		return fmt.Errorf("transfer %s: scan again: %w", shortID(rec.ID), err)
	}
	if !rec.SameFiles(man.Offer("").Files) {
		return fmt.Errorf("transfer %s: the files under %v changed since it started, so it cannot resume; send them again as a new transfer", shortID(rec.ID), rec.Paths)
	}
	peer, err := s.node.Resolve(ctx, rec.Peer.String(), findFor)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", shortID(rec.ID), err)
	}
	return a.sendRecorded(ctx, s, box, rec, man, peer, retryFor)
}

// autoResume resumes, in the background, each unfinished outgoing
// transfer whose peer is (or comes) in sight, until ctx ends: what a
// running `ferry receive` does for the transfers this device sends.
func (a *app) autoResume(ctx context.Context, s *session, box *transfer.Outbox, retryFor time.Duration) (wait func()) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[string]bool{}
	)
	try := func(peer string) {
		recs, err := box.List()
		if err != nil {
			a.log.Warn("outbox", "err", err)
		}
		for _, rec := range recs {
			if rec.Peer.String() != peer {
				continue
			}
			mu.Lock()
			busy := running[rec.ID]
			running[rec.ID] = true
			mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(running, rec.ID); mu.Unlock() }()
				a.log.Info("peer is back: resuming the transfer to it", "peer", rec.Peer, "transfer", rec.ID)
				if err := a.resumeRecorded(ctx, s, box, rec, 10*time.Second, retryFor); err != nil && ctx.Err() == nil {
					a.log.Warn("automatic resume stopped", "transfer", rec.ID, "err", err)
				}
			}()
		}
	}
	peers := make(chan string, 64)
	remove := s.hook(func(e node.Event) {
		if e.Kind == node.EventPeer && e.State == sdk.PeerJoined.String() {
			select {
			case peers <- e.Peer:
			default:
			}
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer remove()
		for _, p := range s.node.Peers() {
			try(p.ID.String())
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
