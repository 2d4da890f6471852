#!/usr/bin/env bash
# DHT simulation benchmark: networks of 10, 20 and 50 dht plugin instances
# in one process on 127.0.0.1 (package plugins/dht/dhtsim), each with its own
# device key and delegation, joined through three seed nodes.
#
# Reported:
#   - lookup time (p50, p95) of a random node's record from another random
#     node, per network size, and how the median grows from 10 to 50 nodes;
#   - heap per node (HeapAlloc after start and announce, over N);
#   - signaling round trip on 20 nodes: an offer A->B and the answer B->A,
#     "cached" (records the node already holds) and "lookup" (a DHT lookup
#     of B first); the target is a median under 300 ms;
#   - then the gated 50-node test in which every node looks up every other
#     (2450 lookups), with its own p50/p95.
# LOOKUPS (default 300) and ROUNDTRIPS (default 200) set the iterations.
# Only 127.0.0.1 is used. No race detector: these are timings.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOOKUPS=${LOOKUPS:-300}
ROUNDTRIPS=${ROUNDTRIPS:-200}
OUT=$(mktemp "${TMPDIR:-/tmp}/ferry-dht-sim.XXXXXX")
trap 'rm -f "$OUT"' EXIT

cd "$ROOT"
echo "== go test -bench Lookup (benchtime ${LOOKUPS}x), SignalRoundTrip (${ROUNDTRIPS}x)"
go test -run '^$' -bench '^BenchmarkLookup$' -benchtime "${LOOKUPS}x" -count 1 ./plugins/dht/ | tee "$OUT"
go test -run '^$' -bench '^BenchmarkSignalRoundTrip$' -benchtime "${ROUNDTRIPS}x" -count 1 ./plugins/dht/ | tee -a "$OUT"

# metric VALUE for UNIT on the line of BENCH.
metric() {
	awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$OUT"
}

echo
echo "== summary"
printf '%-8s %14s %14s %10s\n' nodes "lookup p50 ms" "lookup p95 ms" "MiB/node"
for n in 10 20 50; do
	printf '%-8s %14s %14s %10s\n' "$n" \
		"$(metric "BenchmarkLookup/nodes=$n" ms/lookup-p50)" \
		"$(metric "BenchmarkLookup/nodes=$n" ms/lookup-p95)" \
		"$(metric "BenchmarkLookup/nodes=$n" MiB/node)"
done
p10=$(metric "BenchmarkLookup/nodes=10" ms/lookup-p50)
p50=$(metric "BenchmarkLookup/nodes=50" ms/lookup-p50)
if [[ -n $p10 && -n $p50 ]]; then
	awk -v a="$p10" -v b="$p50" 'BEGIN { printf "lookup median growth 10 -> 50 nodes: x%.2f (%.3f ms -> %.3f ms; Kademlia: O(log N) hops)\n", b / a, a, b }'
fi
for v in cached lookup; do
	printf 'round trip (offer+answer), 20 nodes, %-6s p50 %s ms, p95 %s ms (target p50 < 300 ms)\n' "$v:" \
		"$(metric "BenchmarkSignalRoundTrip/nodes=20/$v" ms/roundtrip-p50)" \
		"$(metric "BenchmarkSignalRoundTrip/nodes=20/$v" ms/roundtrip-p95)"
done

echo
echo "== 50 nodes, every node looks up every other (FERRY_DHT_SIM=1)"
FERRY_DHT_SIM=1 go test -run '^TestSim50AllPairs$' -count 1 -v ./plugins/dht/ | grep -E 'lookups among|^(---|ok|FAIL)'
