package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// openOutbox opens the outbox of unfinished outgoing transfers in the
// Ferry home.
func openOutbox(s *session) (*transfer.Outbox, error) {
	return outboxOf(s.cfg)
}

// outboxOf opens the outbox of the Ferry home cfg was loaded for.
func outboxOf(cfg *config.Config) (*transfer.Outbox, error) {
	return transfer.OpenOutbox(filepath.Join(cfg.Home(), "outbox"))
}

// inboxOf opens the inbox whose files land in dir, with its state in the
// Ferry home cfg was loaded for.
func inboxOf(cfg *config.Config, dir string) (*transfer.Inbox, error) {
	return transfer.OpenInbox(dir, filepath.Join(cfg.Home(), "transfers"))
}

// resumeHint adds to a failed send how the user takes it up again; a
// refusal is final and gets none.
func resumeHint(ctx context.Context, rec *transfer.Outgoing, err error) error {
	if err == nil || errors.Is(err, sdk.ErrRefused) {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (resume with `ferry resume %s`)", err, shortID(rec.ID))
	}
	return fmt.Errorf("%w (resume with `ferry resume %s`, or run the same send again)", err, shortID(rec.ID))
}
