package node

import (
	"sync"
	"time"
)

// progressEvery is the least time between two progress events of a file.
const progressEvery = 100 * time.Millisecond

// progress turns a protocol's byte counts into throttled events.
type progress struct {
	n    *Node
	base Event
	file func(i int) (string, int64)
	mu   sync.Mutex
	last map[int]time.Time
	// confirmed, if set, takes the bytes the receiver confirmed
	// (sdk.Confirmations), on the sending side.
	confirmed func(index int, done int64)
}

// Confirmed implements sdk.Confirmations.
func (p *progress) Confirmed(index int, done int64) {
	if p.confirmed != nil {
		p.confirmed(index, done)
	}
}

func newProgress(n *Node, base Event, file func(int) (string, int64)) *progress {
	return &progress{n: n, base: base, file: file, last: map[int]time.Time{}}
}

func (p *progress) Update(index int, done int64) {
	name, total := p.file(index)
	if name == "" {
		return
	}
	now := time.Now()
	p.mu.Lock()
	if done < total && now.Sub(p.last[index]) < progressEvery {
		p.mu.Unlock()
		return
	}
	p.last[index] = now
	p.mu.Unlock()
	e := p.base
	e.Kind, e.File, e.Index, e.Bytes, e.Total = EventProgress, name, index, done, total
	p.n.emit(e)
}
