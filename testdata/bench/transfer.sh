#!/usr/bin/env bash
# Transfer benchmark: SIZE_MIB (default 1024) of random data from one Ferry
# peer to another on loopback, through the external plugins (lan discovery and
# signaling, tcp transport, ftv2a protocol, TLS 1.3 in the core), beside a bare
# Go TLS 1.3 file-to-file copy (io.Copy both ends, no identity check, no hash)
# measured in the same run. RUNS (default 3) of each, alternated; medians.
# PROTOCOL (default ftv2a) picks the protocol (`ferry send --protocol`); for
# jsonchunk, MODE (default fast) picks its mode and CHUNK its chunk size.
#
# Reported for Ferry:
#   - whole command: `ferry send` wall time, start-up, hashing the file
#     (SHA-256 for the offer), discovery and consent included;
#   - transfer phase: from the sender's "connected" event to its "done" event
#     (the receiver's hash check and rename included);
#   - peak RSS of each side: the largest of the ferry process and its plugin
#     processes (wait4's ru_maxrss over the process tree).
# Needs `make build` first (bin/). Only 127.0.0.1 is used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
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
PROTOCOL=${PROTOCOL:-ftv2a}
MODE=${MODE:-fast}
sed -e "s/port: 41771/port: $PORT/" -e "s/mode: fast/mode: $MODE/" \
	${CHUNK:+-e "s/chunk_size: 1048576/chunk_size: $CHUNK/"} \
	"$ROOT/configs/loopback.yaml" >"$TMP/loopback.yaml"
export FERRY_CONFIG=$TMP/loopback.yaml

desc=$PROTOCOL
[[ $PROTOCOL == jsonchunk ]] && desc="jsonchunk ($MODE mode${CHUNK:+, $CHUNK-byte chunks})"
echo "bench: $desc, $SIZE_MIB MiB, $RUNS runs each, $(nproc) CPUs, $(go version | cut -d' ' -f3)"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/data.bin"
BYTES=$((SIZE_MIB << 20))
FERRY_HOME=$TMP/alice "$BIN/ferry" id >/dev/null
FERRY_HOME=$TMP/bob "$BIN/ferry" id >/dev/null

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
	echo "$t0 $t1" | awk -v b="$BYTES" '{printf "%.1f\n", b/1e6/($2-$1)}'
}

ferry_run() {
	rm -rf "$TMP/inbox" "$TMP/bob/transfers"
	FERRY_HOME=$TMP/bob FERRY_DEVICE_NAME=bob "$BT" rusage -o "$TMP/recv.rusage" -- \
		"$BIN/ferry" receive --yes --json --dir "$TMP/inbox" >"$TMP/recv.json" 2>"$TMP/recv.err" &
	local rpid=$!
	PIDS+=("$rpid")
	sleep 0.5 # the sender waits up to 10 s for the receiver to be discovered anyway
	FERRY_HOME=$TMP/alice FERRY_DEVICE_NAME=alice "$BT" rusage -o "$TMP/send.rusage" -- \
		"$BIN/ferry" send "$TMP/data.bin" --to bob --protocol "$PROTOCOL" --json >"$TMP/send.json" 2>"$TMP/send.err" || {
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
done = [e for e in ev if e.get("event") == "done"][-1]
b = int(sys.argv[2])
wall, srss, scpu = open(sys.argv[3]).read().split()
_, rrss, rcpu = open(sys.argv[4]).read().split()
print("%.1f %.1f %d %d %s %s" % (b/1e6/float(wall), b/1e6/(t(done)-t(conn)), int(srss)//1024, int(rrss)//1024, scpu, rcpu))
PY
}

declare -a BARE WHOLE PHASE SRSS RRSS
for ((i = 1; i <= RUNS; i++)); do
	b=$(bare)
	read -r w p s r sc rc < <(ferry_run)
	BARE+=("$b"); WHOLE+=("$w"); PHASE+=("$p"); SRSS+=("$s"); RRSS+=("$r")
	echo "run $i: bare TLS $b MB/s | ferry whole command $w MB/s, transfer phase $p MB/s | peak RSS sender $s MiB, receiver $r MiB | CPU s (with plugins) sender $sc, receiver $rc"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${BARE[@]}"); mw=$(median "${WHOLE[@]}"); mp=$(median "${PHASE[@]}")
ms=$(median "${SRSS[@]}"); mr=$(median "${RRSS[@]}")
echo
echo "median bare TLS 1.3 copy:      $mb MB/s"
echo "median ferry, whole command:   $mw MB/s  ratio $(awk -v a="$mw" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')"
echo "median ferry, transfer phase:  $mp MB/s  ratio $(awk -v a="$mp" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')  (target >= 0.85)"
echo "median peak RSS: sender $ms MiB, receiver $mr MiB (target < 64 MiB)"
