package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/api"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// daemon is the running `ferry daemon`: a node that receives (offers wait
// for an answer from the API), resumes its outgoing transfers by itself,
// and runs the sends the API starts. It is the API's Backend.
type daemon struct {
	a   *app
	cmd *cobra.Command
	s   *session
	box *transfer.Outbox
	out *node.Outgoing
	dir string // the receive folder
	// uploadsDir holds the copies of files uploaded from the web page,
	// one folder an upload.
	uploadsDir string
	ctx        context.Context

	mu      sync.Mutex
	runs    map[string]*daemonRun // transfer ID -> its send running now
	paused  map[string]bool
	uploads map[string]string // transfer ID -> its uploaded copy's folder
	subs    map[int]func(node.Event)
	nextSub int
	wg      sync.WaitGroup
}

// daemonRun is one running send of an outgoing transfer.
type daemonRun struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// Why a run was stopped from the API.
var (
	errPaused    = errors.New("paused")
	errCancelled = errors.New("cancelled")
)

func newDaemon(ctx context.Context, a *app, cmd *cobra.Command, s *session, box *transfer.Outbox, dir, uploadsDir string) *daemon {
	d := &daemon{a: a, cmd: cmd, s: s, box: box, dir: dir, uploadsDir: uploadsDir, ctx: ctx,
		runs: map[string]*daemonRun{}, paused: map[string]bool{}, uploads: map[string]string{}, subs: map[int]func(node.Event){}}
	d.out = s.node.Outgoing(box)
	d.out.Claim = d.claim
	return d
}

// wait returns once every run has stopped (the daemon's context ended).
func (d *daemon) wait() { d.wg.Wait() }

// startRun registers a run of transfer id, or says why not.
func (d *daemon) startRun(id string) (context.Context, *daemonRun, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runs[id] != nil {
		return nil, nil, fmt.Errorf("%w: transfer %s is being sent already", api.ErrConflict, shortID(id))
	}
	ctx, cancel := context.WithCancelCause(d.ctx)
	r := &daemonRun{cancel: cancel, done: make(chan struct{})}
	d.runs[id] = r
	d.wg.Add(1)
	return ctx, r, nil
}

// claim is AutoResume's Claim: a paused transfer, or one running, is
// left alone.
func (d *daemon) claim(rec *transfer.Outgoing) (context.Context, func(error), bool) {
	d.mu.Lock()
	paused := d.paused[rec.ID]
	d.mu.Unlock()
	if paused {
		return nil, nil, false
	}
	ctx, r, err := d.startRun(rec.ID)
	if err != nil {
		return nil, nil, false
	}
	d.noteUpload(rec)
	return ctx, func(err error) { d.finished(rec.ID, ctx, r, err) }, true
}

// finished ends a run: the outcome goes out as an api.EventEnded event,
// and an uploaded copy whose transfer left the outbox is removed.
func (d *daemon) finished(id string, ctx context.Context, r *daemonRun, err error) {
	defer d.wg.Done()
	cause := context.Cause(ctx)
	r.cancel(context.Canceled)
	d.mu.Lock()
	if d.runs[id] == r {
		delete(d.runs, id)
	}
	upload := d.uploads[id]
	d.mu.Unlock()
	close(r.done)
	e := node.Event{Time: time.Now().UTC(), Kind: api.EventEnded, Transfer: id}
	switch {
	case errors.Is(cause, errPaused):
		e.Code, e.Message = api.CodePaused, "paused"
	case errors.Is(cause, errCancelled):
		e.Code, e.Message = node.CodeCancelled, "cancelled"
	case err != nil:
		e.Code, e.Message = node.ErrorCode(err), err.Error()
	}
	if err == nil || errors.Is(err, sdk.ErrRefused) {
		d.dropUpload(id, upload)
	}
	d.emit(e)
}

// noteUpload remembers the upload folder of a transfer of uploaded files
// taken up after a restart, to remove it once the transfer is done.
func (d *daemon) noteUpload(rec *transfer.Outgoing) {
	if d.uploadsDir == "" || len(rec.Paths) == 0 {
		return
	}
	dir := filepath.Dir(rec.Paths[0])
	if filepath.Dir(dir) != d.uploadsDir {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.uploads[rec.ID] == "" {
		d.uploads[rec.ID] = dir
	}
}

func (d *daemon) dropUpload(id, dir string) {
	if dir == "" {
		return
	}
	d.mu.Lock()
	delete(d.uploads, id)
	d.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		d.a.log.Warn("could not remove an uploaded copy", "dir", dir, "err", err)
	}
}

// Subscribe implements api.Backend: the node's events and the daemon's.
func (d *daemon) Subscribe(fn func(node.Event)) func() {
	d.mu.Lock()
	id := d.nextSub
	d.nextSub++
	d.subs[id] = fn
	d.mu.Unlock()
	remove := d.s.node.Subscribe(fn)
	return func() {
		remove()
		d.mu.Lock()
		delete(d.subs, id)
		d.mu.Unlock()
	}
}

func (d *daemon) emit(e node.Event) {
	d.mu.Lock()
	fns := make([]func(node.Event), 0, len(d.subs))
	for _, fn := range d.subs {
		fns = append(fns, fn)
	}
	d.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// Identity implements api.Backend.
func (d *daemon) Identity() api.Identity {
	return api.Identity{ID: d.s.id.ID.String(), Name: d.s.cfg.DeviceName()}
}

// Peers implements api.Backend.
func (d *daemon) Peers() []sdk.PeerInfo { return d.s.node.Peers() }

// AccountOf names device id's account (api.AccountNamer).
func (d *daemon) AccountOf(id sdk.PeerID) string { return accountName(d.s.node, id) }

// Send implements api.Backend: the files are scanned and the peer found
// now; the transfer runs in the background.
func (d *daemon) Send(ctx context.Context, req api.SendRequest) (api.Sent, error) {
	for _, p := range req.Paths {
		if !filepath.IsAbs(p) {
			return api.Sent{}, fmt.Errorf("%w: path %q is not absolute (the daemon does not know your current folder)", api.ErrBadRequest, p)
		}
	}
	man, err := transfer.ScanWith(ctx, req.Paths, transfer.ScanOptions{Cache: d.s.node.HashCache(), Defer: true})
	if err != nil {
		return api.Sent{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	if len(man.Files) == 0 {
		return api.Sent{}, fmt.Errorf("%w: nothing to send: %s", api.ErrBadRequest, skippedSummary(man.Skipped))
	}
	peer, err := d.s.node.Resolve(ctx, req.To, req.FindTimeout())
	if err != nil {
		if errors.Is(err, sdk.ErrOffline) || errors.Is(err, sdk.ErrNotFound) {
			return api.Sent{}, fmt.Errorf("%w: %w", api.ErrNotFound, err)
		}
		return api.Sent{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	rec, resumed, err := d.out.Record(man, req.Paths, peer, req.Protocol)
	if err != nil {
		return api.Sent{}, err
	}
	rctx, r, err := d.startRun(rec.ID)
	if err != nil {
		return api.Sent{}, err
	}
	d.mu.Lock()
	delete(d.paused, rec.ID)
	if req.Upload != "" {
		d.uploads[rec.ID] = req.Upload
	}
	d.mu.Unlock()
	sent := api.Sent{Transfer: rec.ID, Peer: peer.ID.String(), PeerName: peer.Name, Files: len(man.Files), Total: man.TotalSize(),
		Resumed: resumed, Skipped: man.Skipped}
	if resumed {
		sent.Done = rec.Done()
	}
	go func() {
		err := d.out.Send(rctx, rec, man, peer, req.RetryFor())
		d.finished(rec.ID, rctx, r, err)
	}()
	return sent, nil
}

// Transfers implements api.Backend.
func (d *daemon) Transfers() ([]api.Transfer, error) {
	ts, err := d.a.listTransfers(d.s.cfg, d.dir)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range ts {
		t := &ts[i]
		switch {
		case t.Direction != "send":
			t.State = api.StateWaiting
		case d.runs[t.Transfer] != nil:
			t.State = api.StateRunning
		case d.paused[t.Transfer]:
			t.State = api.StatePaused
		default:
			t.State = api.StateWaiting
		}
	}
	return ts, nil
}

// find returns the outgoing transfer id names, or an API error.
func (d *daemon) find(id string) (*transfer.Outgoing, error) {
	rec, err := d.box.Find(id)
	if err == nil {
		return rec, nil
	}
	if errors.Is(err, sdk.ErrNotFound) {
		if ts, _ := d.a.listTransfers(d.s.cfg, d.dir); ts != nil {
			for _, t := range ts {
				if t.Direction == "receive" && id != "" && len(id) <= len(t.Transfer) && t.Transfer[:len(id)] == id {
					return nil, fmt.Errorf("%w: transfer %s is incoming: its sender pauses and resumes it; `ferry cancel` drops it once the daemon is stopped", api.ErrConflict, shortID(t.Transfer))
				}
			}
		}
		return nil, fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return nil, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
}

// stop stops transfer id's run, if any, for why, and waits for it.
func (d *daemon) stop(id string, why error) {
	d.mu.Lock()
	r := d.runs[id]
	d.mu.Unlock()
	if r != nil {
		r.cancel(why)
		<-r.done
	}
}

// Pause implements api.Backend.
func (d *daemon) Pause(id string) error {
	rec, err := d.find(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.paused[rec.ID] = true
	d.mu.Unlock()
	d.stop(rec.ID, errPaused)
	return nil
}

// Resume implements api.Backend.
func (d *daemon) Resume(id string) error {
	rec, err := d.find(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.paused, rec.ID)
	d.mu.Unlock()
	ctx, r, err := d.startRun(rec.ID)
	if err != nil {
		return nil // running already
	}
	d.noteUpload(rec)
	go func() {
		err := d.out.Resume(ctx, rec, 10*time.Second, time.Minute)
		d.finished(rec.ID, ctx, r, err)
	}()
	return nil
}

// Cancel implements api.Backend.
func (d *daemon) Cancel(id string) error {
	rec, err := d.find(id)
	if err != nil {
		return err
	}
	d.stop(rec.ID, errCancelled)
	d.noteUpload(rec)
	if err := d.box.Remove(rec.ID); err != nil {
		return fmt.Errorf("cancel %s: %w", shortID(rec.ID), err)
	}
	d.mu.Lock()
	delete(d.paused, rec.ID)
	upload := d.uploads[rec.ID]
	d.mu.Unlock()
	d.dropUpload(rec.ID, upload)
	return nil
}

// Reload implements api.Backend.
func (d *daemon) Reload(ctx context.Context) (string, error) {
	line, err := d.a.reloadConfig(ctx, d.cmd, d.s)
	if err != nil {
		return "", reloadRefusal{err}
	}
	d.a.log.Info(line)
	return line, nil
}

// Plugins implements api.Backend.
func (d *daemon) Plugins(ctx context.Context) any {
	rows := []pluginRow{}
	for _, s := range d.s.cat.Statuses(ctx) {
		rows = append(rows, rowOf(s))
	}
	return rows
}

// reloadRefusal is a refused reload, as the API's ErrRefused, said as the
// reload says it.
type reloadRefusal struct{ error }

func (r reloadRefusal) Unwrap() error        { return r.error }
func (r reloadRefusal) Is(target error) bool { return target == api.ErrRefused }
