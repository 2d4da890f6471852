package rpc

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// progressClient forwards progress to the host at most every 100 ms per
// call, and the last figures when the call ends, so a protocol may report
// every chunk without an RPC each.
type progressClient struct {
	c         pb.HostClient
	mu        sync.Mutex
	latest    map[int]int64
	confirmed map[int]int64 // since the last flush
	quit      chan struct{}
	wg        sync.WaitGroup
}

var (
	_ sdk.Progress      = (*progressClient)(nil)
	_ sdk.Confirmations = (*progressClient)(nil)
)

func newProgressClient(c pb.HostClient) *progressClient {
	p := &progressClient{c: c, latest: map[int]int64{}, confirmed: map[int]int64{}, quit: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.flush()
			case <-p.quit:
				p.flush()
				return
			}
		}
	}()
	return p
}

// Update implements sdk.Progress.
func (p *progressClient) Update(index int, n int64) {
	p.mu.Lock()
	p.latest[index] = n
	p.mu.Unlock()
}

// Confirmed implements sdk.Confirmations.
func (p *progressClient) Confirmed(index int, n int64) {
	p.mu.Lock()
	p.confirmed[index] = max(p.confirmed[index], n)
	p.mu.Unlock()
}

func (p *progressClient) flush() {
	p.mu.Lock()
	latest, confirmed := p.latest, p.confirmed
	p.latest, p.confirmed = map[int]int64{}, map[int]int64{}
	p.mu.Unlock()
	reqs := map[int]*pb.ProgressRequest{}
	for i, n := range latest {
		reqs[i] = &pb.ProgressRequest{Index: int32(i), Done: n}
	}
	for i, n := range confirmed {
		if reqs[i] == nil {
			reqs[i] = &pb.ProgressRequest{Index: int32(i), Done: -1}
		}
		reqs[i].Confirmed = &n
	}
	for _, req := range reqs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = p.c.Progress(ctx, req)
		cancel()
	}
}

func (p *progressClient) stop() {
	close(p.quit)
	p.wg.Wait()
}
