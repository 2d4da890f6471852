package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/plugins"
)

// session is a running node and what it was made from.
type session struct {
	cfg  *config.Config
	id   *identity.Identity
	cat  *plugins.Catalog
	node *node.Node
}

// startNode loads config and identity, starts the plugins and the node.
// The caller must call close.
func (a *app) startNode(ctx context.Context, cmd *cobra.Command, r *renderer, opts node.Options) (*session, error) {
	cfg, id, cat, err := a.openPlugins(cmd)
	if err != nil {
		return nil, err
	}
	opts.Config, opts.Identity, opts.Catalog, opts.Logger = cfg, id, cat, a.log
	s := &session{cfg: cfg, id: id, cat: cat}
	if r != nil {
		opts.Events = r.event
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := node.Start(sctx, opts)
	if err != nil {
		a.closeCatalog(cat)
		return nil, fmt.Errorf("start: %w", err)
	}
	s.node = n
	return s, nil
}

func (a *app) closeSession(s *session) {
	_ = s.node.Close()
	a.closeCatalog(s.cat)
}
