package dht_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
)

// percentiles returns the median and the 95th percentile of ds.
func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*95/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startSim starts an announced network of n nodes for a benchmark and
// returns it with the heap it added per node, in MiB.
func startSim(b *testing.B, n int) (*dhtsim.Sim, float64) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sim := dhtsim.Start(b, dhtsim.Options{N: n, Seeds: 3})
	sim.AnnounceAll(b)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return sim, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n) / (1 << 20)
}

// pair returns two distinct random nodes.
func pair(rng *rand.Rand, sim *dhtsim.Sim) (a, b *dhtsim.Node) {
	i := rng.IntN(len(sim.Nodes))
	j := rng.IntN(len(sim.Nodes) - 1)
	if j >= i {
		j++
	}
	return sim.Nodes[i], sim.Nodes[j]
}

// BenchmarkLookup measures Lookup of a random node's record from another
// random node on loopback networks of 10, 20 and 50 nodes: the median and
// 95th percentile lookup time, and the heap each node takes.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 20, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			sim, perNode := startSim(b, n)
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				from, to := pair(rng, sim)
				start := time.Now()
				info, err := from.Lookup(ctx, to.ID)
				times = append(times, time.Since(start))
				if err != nil || info.Name != to.Name {
					b.Fatalf("node %d Lookup(node %d): %+v, %v", from.Index, to.Index, info, err)
				}
			}
			b.StopTimer()
			p50, p95 := percentiles(times)
			b.ReportMetric(ms(p50), "ms/lookup-p50")
			b.ReportMetric(ms(p95), "ms/lookup-p95")
			b.ReportMetric(perNode, "MiB/node")
		})
	}
}

// BenchmarkSignalRoundTrip measures an offer and its answer on a 20-node
// loopback network: A sends an envelope to B, B answers A, as the core's
// connection setup does. "cached" sends as the plugin does (using records
// it already holds from neighbours and earlier lookups); "lookup" has A
// look B up in the DHT first, the cold path.
func BenchmarkSignalRoundTrip(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "cached"
		if cold {
			name = "lookup"
		}
		b.Run("nodes=20/"+name, func(b *testing.B) {
			sim, _ := startSim(b, 20)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			in := make([]<-chan sdk.Envelope, len(sim.Nodes))
			for i, nd := range sim.Nodes {
				ch, err := nd.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				in[i] = ch
			}
			rng := rand.New(rand.NewPCG(20, 9))
			offer, answer := make([]byte, 2048), make([]byte, 1024)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				a, z := pair(rng, sim)
				copy(offer, fmt.Sprintf("offer %d", i))
				copy(answer, fmt.Sprintf("answer %d", i))
				start := time.Now()
				if cold {
					if _, err := a.Lookup(ctx, z.ID); err != nil {
						b.Fatal(err)
					}
				}
				if err := a.Send(ctx, sdk.Envelope{To: z.ID, Payload: offer}); err != nil {
					b.Fatalf("offer: %v", err)
				}
				env := awaitEnvelope(b, in[z.Index], offer)
				if err := z.Send(ctx, sdk.Envelope{To: env.From, Payload: answer}); err != nil {
					b.Fatalf("answer: %v", err)
				}
				awaitEnvelope(b, in[a.Index], answer)
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			p50, p95 := percentiles(times)
			b.ReportMetric(ms(p50), "ms/roundtrip-p50")
			b.ReportMetric(ms(p95), "ms/roundtrip-p95")
		})
	}
}
