package main

import (
	"fmt"

	"github.com/ferry-p2p/ferry/core/node"
)

// sendGroup is the transfers of one send to an account, one per device:
// the sender's progress shows the most advanced of them (seed 001's "most
// optimistic view"), per-device detail being in --json and ferry status.
type sendGroup struct {
	label   string
	account string            // the account's whole ID, for --json
	members map[string]string // transfer ID -> device name
	view    shown             // the group's display: the best member's bytes
	best    string            // the device now most advanced
	ended   map[string]bool   // members finished (done, refused, failed)
}

// joinGroup adds transfer id, to device who, to the group of account
// (labelled label), creating it.
func (r *renderer) joinGroup(account, label, id, who string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups == nil {
		r.groups = map[string]*sendGroup{}
		r.memberOf = map[string]*sendGroup{}
	}
	g := r.groups[label]
	if g == nil {
		g = &sendGroup{label: label, account: account, members: map[string]string{}, view: shown{done: map[int]int64{}, last: -1}, ended: map[string]bool{}}
		r.groups[label] = g
	}
	g.members[id] = who
	r.memberOf[id] = g
}

// groupProgress shows the progress of member s's group: that of its most
// advanced member. Called with r.mu held.
func (r *renderer) groupProgress(g *sendGroup, e node.Event) {
	var best int64 = -1
	for id, who := range g.members {
		s := r.transfers[id]
		if s == nil || s.total <= 0 {
			continue
		}
		if h := s.held(); h > best {
			best, g.best = h, who
			g.view.total = s.total
			g.view.m.begin(e.Time)
		}
	}
	if best < 0 || g.view.total <= 0 {
		return
	}
	if best < g.view.done[0] {
		// A finished member left the table: the view never goes back.
		best = g.view.done[0]
	}
	if moved := best - g.view.done[0]; moved > 0 {
		g.view.m.add(moved)
	}
	g.view.done[0] = best
	g.view.m.mu.Lock()
	g.view.m.done, g.view.m.total = best, g.view.total
	g.view.m.mu.Unlock()
	if r.tty {
		if g.view.bars == nil {
			g.view.bars = r.bars.add("account "+g.label+" (most advanced device)", g.view.total, &g.view.m)
		}
		g.view.bars.update(0, best, best)
		return
	}
	if tenth := int(best * 10 / g.view.total); tenth > g.view.last {
		g.view.last = tenth
		line := fmt.Sprintf("progress %s: %3d%% (%s of %s), most advanced: %s", g.label, tenth*10, size(best), size(g.view.total), g.best)
		if rate, secs := g.view.m.rate(e.Time); secs >= 0.2 {
			line += fmt.Sprintf(", %s/s", size(int64(rate)))
		}
		fmt.Fprintln(r.out, line)
	}
}

// groupFinish notes that member id ended, and takes the group's bars down
// once every member has. Called with r.mu held.
func (r *renderer) groupFinish(id string) {
	g := r.memberOf[id]
	if g == nil {
		return
	}
	g.ended[id] = true
	if len(g.ended) == len(g.members) && g.view.bars != nil {
		g.view.bars.end()
		g.view.bars = nil
	}
}
