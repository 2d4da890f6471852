#!/usr/bin/env bash
# Measures the plugin boundary's cost on the data path: 1 GiB (override with
# FERRY_BENCH_BYTES) over a TLS 1.3 channel pinned to both peer IDs, on a
# stream made by the external tcp plugin binaries and by its in-process twin,
# in the same run. Prints both throughputs and their ratio (target >= 0.90).
set -euo pipefail
cd "$(dirname "$0")/../.."
bytes=${FERRY_BENCH_BYTES:-1073741824}
count=${FERRY_BENCH_COUNT:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "moving $bytes bytes per run, $count runs per variant (interleaved by go test -count)"
FERRY_BENCH_BYTES=$bytes go test -run '^$' -bench 'BenchmarkTLSOverTCP' -benchtime 1x -count "$count" ./core/plugins | tee "$out" | grep -E '^Benchmark' || true
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print 0} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
ext=$(grep -E '^BenchmarkTLSOverTCP/external' "$out" | awk '{for(i=1;i<=NF;i++) if ($(i+1)=="MB/s") print $i}' | median)
inp=$(grep -E '^BenchmarkTLSOverTCP/inprocess' "$out" | awk '{for(i=1;i<=NF;i++) if ($(i+1)=="MB/s") print $i}' | median)
if [ "$inp" = "0" ] || [ "$ext" = "0" ]; then
  echo "benchmark produced no figures" >&2
  exit 1
fi
ratio=$(awk -v e="$ext" -v i="$inp" 'BEGIN {printf "%.3f", e/i}')
printf 'external plugin : %8.1f MB/s (median)\n' "$ext"
printf 'in-process twin : %8.1f MB/s (median)\n' "$inp"
printf 'ratio external/in-process: %s (target >= 0.90)\n' "$ratio"
