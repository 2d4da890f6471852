package dht_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
)

// simEnv, set to 1, runs the large simulations (50 nodes, all pairs).
const simEnv = "FERRY_DHT_SIM"

// TestChurn starts 15 nodes, kills 20% of them (one seed among them), and
// checks that the survivors' records stay findable from every survivor
// after they were republished, while the records of the killed nodes
// expire and are no longer found.
func TestChurn(t *testing.T) {
	const n, killed = 15, 3
	ttl := 8 * time.Second
	sim := dhtsim.Start(t, dhtsim.Options{N: n, Seeds: 2, Config: map[string]any{"record_ttl": ttl.String(), "lookup_timeout": "5s"}})
	sim.AnnounceAll(t)
	rng := rand.New(rand.NewPCG(1, 2))
	dead := map[int]bool{1: true} // a seed
	for len(dead) < killed {
		dead[2+rng.IntN(n-2)] = true
	}
	var survivors []*dhtsim.Node
	for _, nd := range sim.Nodes {
		if dead[nd.Index] {
			nd.Kill(t)
		} else {
			survivors = append(survivors, nd)
		}
	}
	killedAt := time.Now()
	time.Sleep(ttl / 2) // at least one republish of every survivor

	ctx, cancel := context.WithTimeout(context.Background(), dhtsim.Eventually)
	defer cancel()
	for _, from := range survivors {
		for range 3 {
			to := survivors[rng.IntN(len(survivors))]
			if to == from {
				continue
			}
			dhtsim.AwaitLookup(ctx, t, from, to.ID, to.Name)
		}
	}
	for _, to := range survivors[1:] {
		dhtsim.AwaitLookup(ctx, t, survivors[0], to.ID, to.Name)
	}
	// The killed nodes' records expire unrenewed.
	time.Sleep(time.Until(killedAt.Add(ttl + 500*time.Millisecond)))
	for i := range sim.Nodes {
		if !dead[i] {
			continue
		}
		if info, err := survivors[0].Lookup(ctx, sim.Nodes[i].ID); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Lookup of killed node %d: %+v, %v; want sdk.ErrNotFound", i, info, err)
		}
	}
}

// TestSim50AllPairs starts 50 nodes and has every node look up every
// other's record. It is gated: set FERRY_DHT_SIM=1 (testdata/bench/dht-sim.sh
// does) to run it.
func TestSim50AllPairs(t *testing.T) {
	if os.Getenv(simEnv) != "1" {
		t.Skipf("the 50-node all-pairs simulation takes about a minute; set %s=1 to run it", simEnv)
	}
	const n = 50
	sim := dhtsim.Start(t, dhtsim.Options{N: n, Seeds: 3})
	sim.AnnounceAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		mu    sync.Mutex
		times []time.Duration
		fails int
		wg    sync.WaitGroup
	)
	for _, from := range sim.Nodes {
		wg.Go(func() {
			for _, to := range sim.Nodes {
				if to == from {
					continue
				}
				start := time.Now()
				info, err := from.Lookup(ctx, to.ID)
				d := time.Since(start)
				mu.Lock()
				times = append(times, d)
				if err != nil || info.Name != to.Name {
					fails++
					if fails <= 5 {
						t.Errorf("node %d Lookup(node %d): %+v, %v", from.Index, to.Index, info, err)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	p50, p95 := percentiles(times)
	t.Logf("%d lookups among %d nodes: %d failed, p50 %v, p95 %v", len(times), n, fails, p50, p95)
}
