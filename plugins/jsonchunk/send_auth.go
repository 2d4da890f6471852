package jsonchunk

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/ranges"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

// authFor builds the AUTHENTICATION of offer, checking that the wire can
// carry it.
func authFor(cfg Config, offer sdk.Offer) (*Authentication, error) {
	fid, err := FIDFromTransferID(offer.TransferID)
	if err != nil {
		return nil, err
	}
	modes := []string{ModeStrict}
	sizes := map[string]int{ModeStrict: cfg.StrictChunkSize}
	if cfg.Mode == ModeFast {
		modes = []string{ModeFast, ModeStrict}
		sizes[ModeFast] = cfg.ChunkSize
	}
	a := &Authentication{
		MessageID: uuid.NewString(),
		Token:     offer.Token,
		FID:       fid,
		Files:     make([]File, 0, len(offer.Files)),
		Tags:      []string{},
		Ferry:     &AuthExtension{V: ExtensionVersion, Modes: modes, ChunkSize: sizes, Window: cfg.Window},
	}
	for i, f := range offer.Files {
		if f.Size < 0 {
			return nil, fmt.Errorf("file %d %q: negative size %d", i, f.Name, f.Size)
		}
		if len(f.SHA256) != 0 && len(f.SHA256) != 32 {
			return nil, fmt.Errorf("file %d %q: SHA-256 of %d bytes", i, f.Name, len(f.SHA256))
		}
		wf := File{Name: f.Name, Size: uint64(f.Size)}
		if len(f.SHA256) > 0 || f.MediaType != "" || !f.ModTime.IsZero() {
			wf.Ferry = &FileExtension{SHA256: hex.EncodeToString(f.SHA256), MediaType: f.MediaType}
			if !f.ModTime.IsZero() {
				wf.Ferry.ModTime = f.ModTime.UTC().Format(time.RFC3339Nano)
			}
		}
		a.Files = append(a.Files, wf)
	}
	if _, err := appendAuthentication(nil, a); err != nil {
		return nil, fmt.Errorf("the offer cannot be sent: %w", err)
	}
	return a, nil
}

// authenticate sends AUTHENTICATION until the receiver answers it, and
// takes in the answer: mode, window and what the receiver already holds.
func (s *sender) authenticate(ctx context.Context) error {
	frame, err := appendAuthentication(nil, s.auth)
	if err != nil {
		return fmt.Errorf("jsonchunk: send: %w", err)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for tries := 1; ; tries++ {
		_, err := s.Writer.Write(frame)
		if err == nil {
			err = s.Writer.Flush()
		}
		if err != nil {
			if ctx.Err() != nil {
				return s.Err(ctx)
			}
			return fmt.Errorf("jsonchunk: %w before answering AUTHENTICATION: %v", sdk.ErrOffline, err)
		}
		timer.Reset(s.Config.RetryInterval)
		for {
			r, err := s.next(ctx, timer.C)
			var le *linkError
			switch {
			case errors.Is(err, errRetry):
			case errors.As(err, &le):
				return fmt.Errorf("jsonchunk: %w before answering AUTHENTICATION: %v", sdk.ErrOffline, le.err)
			case err != nil:
				return err
			case r.MessageID != s.auth.MessageID:
				s.Log.Debug("jsonchunk: ignoring a RESPONSE to another message before the answer to AUTHENTICATION", "message_id", r.MessageID)
				continue
			default:
				return s.answered(ctx, r)
			}
			break
		}
		if tries >= s.Config.Retries {
			return fmt.Errorf("jsonchunk: AUTHENTICATION not processed by the receiver after %d tries (no RESPONSE within %v of each): %w",
				tries, s.Config.RetryInterval, sdk.ErrNotProcessed)
		}
		s.Log.Debug("jsonchunk: no RESPONSE yet: sending AUTHENTICATION again", "try", tries+1)
	}
}

// answered takes in the receiver's RESPONSE to AUTHENTICATION.
func (s *sender) answered(ctx context.Context, r *Response) error {
	e := r.Ferry
	if r.Response == Error {
		switch {
		case e != nil && (e.Verify != nil || e.Code == CodeHashMismatch):
			return s.mismatch(ctx, r)
		case e != nil && e.Code == CodeRetry:
			return fmt.Errorf("jsonchunk: the receiver could not take the transfer now: %s", r.Reason)
		case e != nil && (e.Code == CodeNoSpace || e.Code == CodeIntegrity):
			return reason.FromPeer("jsonchunk: the receiver could not take the transfer now", e.Code, r.Reason)
		}
		return fmt.Errorf("jsonchunk: transfer %s: %w: %s", s.offer.TransferID, sdk.ErrRefused, r.Reason)
	}
	if e == nil || e.V < 1 {
		return errors.New("jsonchunk: the receiver's RESPONSE has no ferry object: it cannot map chunks to files (a seed-only peer), so the transfer cannot be confirmed")
	}
	if !slices.Contains(s.auth.Ferry.Modes, e.Mode) {
		return fmt.Errorf("jsonchunk: the receiver picked mode %q, not one of %q", e.Mode, s.auth.Ferry.Modes)
	}
	s.mode = e.Mode
	s.chunk = s.Config.chunkSize(e.Mode)
	s.window = s.Config.Window
	if e.Window > 0 {
		s.window = min(s.window, e.Window)
	}
	s.files = make([]*outFile, len(s.offer.Files))
	for i, f := range s.offer.Files {
		s.files[i] = &outFile{info: f}
	}
	have := make([]ranges.Set, len(s.files))
	for _, h := range e.Have {
		if h.File >= len(s.files) {
			return fmt.Errorf("jsonchunk: the receiver says it holds parts of file %d of %d", h.File, len(s.files))
		}
		f := s.files[h.File]
		if len(h.Ranges) == 1 && h.Ranges[0] == [2]int64{0, f.info.Size} {
			f.done = true
		}
		for _, rg := range h.Ranges {
			if rg[1] > f.info.Size {
				return fmt.Errorf("jsonchunk: the receiver says it holds [%d, %d) of %q, which has %d bytes", rg[0], rg[1], f.info.Name, f.info.Size)
			}
			have[h.File].Add(rg[0], rg[1])
		}
	}
	var resumed int64
	for i, f := range s.files {
		f.held = have[i].Total()
		resumed += f.held
		if !f.done {
			f.todo = have[i].Gaps(0, f.info.Size)
		}
		f.sent = len(f.todo) == 0
		s.progress(i)
	}
	if resumed > 0 {
		s.Log.Info(fmt.Sprintf("jsonchunk: resuming transfer %s: the receiver holds %d bytes", s.offer.TransferID, resumed),
			"transfer", s.offer.TransferID, "held", resumed, "mode", s.mode)
	}
	s.Log.Debug("jsonchunk: AUTHENTICATION accepted", "mode", s.mode, "chunk_size", s.chunk, "window", s.window)
	return nil
}
