#!/usr/bin/env bash
# Transfer benchmark: SIZE_MIB (default 1024) of random data from one Ferry
# peer to another on loopback, beside a bare Go TLS 1.3 file-to-file copy
# (io.Copy both ends, no identity check, no hash) measured in the same run.
# Each of RUNS rounds (default 5) runs, one after another: the bare copy,
# `ferry send --protocol ftv2a` and `ferry send --protocol jsonchunk` (fast
# mode), all through the external plugins (lan discovery and signaling, tcp
# transport). PROTOCOLS (default "ftv2a jsonchunk") picks which to run.
#
# Reported, as medians over the rounds:
#   - whole command: `ferry send` from process start to exit (start-up,
#     discovery, the offer and its answer, hashing and the receiver's check
#     included); for the bare copy, from the sender's start to both ends'
#     exit;
#   - transfer phase: from the sender's "connected" event to its "done" event;
#   - ratio of each to the bare copy's whole command (same run);
#   - to the ASK: from `ferry send`'s start to the offer leaving (its
#     "signaling" event), for a file never sent before (no hash cached);
#   - CPU seconds per GiB of each side, every process of it (the ferry
#     process and its plugins), and peak RSS of each side (wait4's
#     ru_maxrss over the process tree: the largest single process).
# The sender's hash cache is cleared before each run so every send is of a
# file it has not hashed. Needs `make build` first (bin/). Only 127.0.0.1 is
# used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
PROTOCOLS=${PROTOCOLS:-ftv2a jsonchunk}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/benchtool" "$ROOT/testdata/bench/benchtool"
BT=$TMP/benchtool
PORT=$((44000 + RANDOM % 2000))
sed -e "s/port: 41771/port: $PORT/" "$ROOT/configs/loopback.yaml" >"$TMP/loopback.yaml"
export FERRY_CONFIG=$TMP/loopback.yaml

echo "bench: $SIZE_MIB MiB, $RUNS rounds of: bare TLS copy, $PROTOCOLS; $(nproc) CPUs, $(go version | cut -d' ' -f3)"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/data.bin"
BYTES=$((SIZE_MIB << 20))
FERRY_HOME=$TMP/alice "$BIN/ferry" id >/dev/null
FERRY_HOME=$TMP/bob "$BIN/ferry" id >/dev/null

# bare prints "MB/s wall_seconds".
bare() {
	rm -f "$TMP/bare.out" "$TMP/port"
	"$BT" tls-recv -out "$TMP/bare.out" -port-file "$TMP/port" &
	local rpid=$!
	while [[ ! -s $TMP/port ]]; do sleep 0.01; done
	local t0 t1
	t0=$(date +%s.%N)
	"$BT" tls-send -addr "127.0.0.1:$(cat "$TMP/port")" -in "$TMP/data.bin"
	wait "$rpid"
	t1=$(date +%s.%N)
	cmp -s "$TMP/data.bin" "$TMP/bare.out" || { echo "bare copy differs" >&2; exit 1; }
	echo "$t0 $t1" | awk -v b="$BYTES" '{printf "%.1f %.3f\n", b/1e6/($2-$1), $2-$1}'
}

# ferry_run PROTOCOL prints "whole_MB/s phase_MB/s sender_rss_MiB
# receiver_rss_MiB sender_cpu_s receiver_cpu_s ask_ms".
ferry_run() {
	local proto=$1
	rm -rf "$TMP/inbox" "$TMP/bob/transfers" "$TMP/alice/hashcache.json"
	FERRY_HOME=$TMP/bob FERRY_DEVICE_NAME=bob "$BT" rusage -o "$TMP/recv.rusage" -- \
		"$BIN/ferry" receive --yes --json --dir "$TMP/inbox" >"$TMP/recv.json" 2>"$TMP/recv.err" &
	local rpid=$!
	PIDS+=("$rpid")
	sleep 0.5 # the sender waits up to 10 s for the receiver to be discovered anyway
	FERRY_HOME=$TMP/alice FERRY_DEVICE_NAME=alice "$BT" rusage -o "$TMP/send.rusage" -- \
		"$BIN/ferry" send "$TMP/data.bin" --to bob --protocol "$proto" --json >"$TMP/send.json" 2>"$TMP/send.err" || {
		echo "ferry send failed:" >&2; cat "$TMP/send.err" >&2; exit 1
	}
	kill -TERM "$rpid"; wait "$rpid" || true
	cmp -s "$TMP/data.bin" "$TMP/inbox/data.bin" || { echo "ferry copy differs" >&2; exit 1; }
	python3 - "$TMP/send.json" "$BYTES" "$TMP/send.rusage" "$TMP/recv.rusage" <<'PY'
import json, sys
from datetime import datetime
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def t(e):
    s = e["time"].rstrip("Z")  # RFC 3339 in UTC, up to nanoseconds
    base, _, frac = s.partition(".")
    return datetime.fromisoformat(base + "+00:00").timestamp() + float("0." + (frac or "0"))
conn = [e for e in ev if e.get("event") == "state" and e.get("state") == "connected"][-1]
ask = [e for e in ev if e.get("event") == "state" and e.get("state") == "signaling"][0]
done = [e for e in ev if e.get("event") == "done"][-1]
b = int(sys.argv[2])
wall, srss, scpu, start = open(sys.argv[3]).read().split()
_, rrss, rcpu, _ = open(sys.argv[4]).read().split()
print("%.1f %.1f %d %d %s %s %.0f" % (b/1e6/float(wall), b/1e6/(t(done)-t(conn)), int(srss)//1024, int(rrss)//1024,
      scpu, rcpu, 1000*(t(ask)-float(start))))
PY
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -a BARE BAREWALL
declare -A WHOLE PHASE SRSS RRSS SCPU RCPU ASK
for ((i = 1; i <= RUNS; i++)); do
	read -r b bw < <(bare)
	BARE+=("$b"); BAREWALL+=("$bw")
	line="round $i: bare TLS $b MB/s"
	for p in $PROTOCOLS; do
		read -r w ph s r sc rc ask < <(ferry_run "$p")
		WHOLE[$p]+=" $w"; PHASE[$p]+=" $ph"; SRSS[$p]+=" $s"; RRSS[$p]+=" $r"
		SCPU[$p]+=" $sc"; RCPU[$p]+=" $rc"; ASK[$p]+=" $ask"
		line+=" | $p: whole $w MB/s, phase $ph MB/s, to ASK $ask ms, CPU s $sc/$rc, RSS MiB $s/$r"
	done
	echo "$line"
done
mb=$(median "${BARE[@]}")
gib=$(awk -v b="$BYTES" 'BEGIN{print b/1073741824}')
echo
echo "median bare TLS 1.3 copy: $mb MB/s"
for p in $PROTOCOLS; do
	# shellcheck disable=SC2086
	mw=$(median ${WHOLE[$p]}); mp=$(median ${PHASE[$p]}); ma=$(median ${ASK[$p]})
	# shellcheck disable=SC2086
	ms=$(median ${SRSS[$p]}); mr=$(median ${RRSS[$p]}); sc=$(median ${SCPU[$p]}); rc=$(median ${RCPU[$p]})
	echo "$p:"
	echo "  whole command   $mw MB/s  ratio $(awk -v a="$mw" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')  (target >= 1.0)"
	echo "  transfer phase  $mp MB/s  ratio $(awk -v a="$mp" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')"
	echo "  start to ASK    $ma ms  (target < 200 ms)"
	echo "  CPU s per GiB   sender $(awk -v c="$sc" -v g="$gib" 'BEGIN{printf "%.2f", c/g}'), receiver $(awk -v c="$rc" -v g="$gib" 'BEGIN{printf "%.2f", c/g}')"
	echo "  peak RSS        sender $ms MiB, receiver $mr MiB  (target < 64 MiB)"
done
