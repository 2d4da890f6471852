#!/usr/bin/env bash
# The ice transport's stream beside tcp, in one run (issue 12): 1 GiB
# host to host on loopback with QUIC owning the socket, the same over the
# ICE agent's conn (own_socket: false), 256 MiB through an in-process
# pion/turn relay and through an unmodified coturn (skipped without
# turnserver), and tcp; each bare. Both ends (and the in-process relay)
# run in one process, so CPU is both sides together; a coturn's own CPU is
# not counted. Prints MB/s, the ratio to tcp and CPU-s per GiB.
#
#   bash testdata/bench/ice.sh            # or: make bench-ice
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true
export ICE_BENCH_DIRECT_MIB=${ICE_BENCH_DIRECT_MIB:-1024} ICE_BENCH_TURN_MIB=${ICE_BENCH_TURN_MIB:-256}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(go test -run '^$' -bench 'BenchmarkStream/(ice-direct|ice-direct-shared|ice-turn|ice-coturn|tcp)$' -benchtime 1x ./plugins/ice/ 2>&1)
echo "$out" | grep -E '^(Benchmark|--- SKIP|    )' || { echo "$out"; exit 1; }
echo "$out" | awk '
/^BenchmarkStream\// {
	name = $1; sub(/^BenchmarkStream\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "MB/s") mb[name] = $i
		if ($(i+1) == "cpu-s/GiB") cpu[name] = $i
	}
	order[++n] = name
}
END {
	printf "\n%-20s %10s %10s %12s\n", "path", "MB/s", "x tcp", "CPU-s/GiB"
	for (k = 1; k <= n; k++) {
		x = order[k]
		printf "%-20s %10.1f %10.3f %12.2f\n", x, mb[x], (mb["tcp"] > 0 ? mb[x] / mb["tcp"] : 0), cpu[x]
	}
	printf "targets (issue 12): ice-direct >= 150 MB/s, through coturn >= 60 MB/s\n"
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
