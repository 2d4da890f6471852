#!/usr/bin/env bash
# Small-files benchmark: FILES (default 10000) files of SIZE bytes (default
# 1024) of random data in nested folders (100 a folder), sent whole from one
# Ferry peer to another on loopback, beside two baselines measured in the
# same run: `cp -r` of the same tree (no network), and `tar | tar` over a
# plain TCP socket on 127.0.0.1. Each of RUNS rounds (default 1) runs, one
# after another: cp -r, tar | tar, `ferry send --protocol ftv2a` and
# `ferry send --protocol jsonchunk` (PROTOCOLS picks), all through the
# external plugins (lan discovery and signaling, tcp transport).
#
# Reported per run and as medians: files per second of the whole command
# (`ferry send` from process start to exit: start-up, discovery, the offer
# and its manifest, every file sent, hashed, verified and in place), its
# ratio to each baseline, the transfer phase (from "connected" to "done"),
# and peak RSS of each side. Every copy is checked against the source.
# Needs `make build` first (bin/). Only 127.0.0.1 is used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
FILES=${FILES:-10000}
SIZE=${SIZE:-1024}
RUNS=${RUNS:-1}
PROTOCOLS=${PROTOCOLS:-ftv2a jsonchunk}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-smallfiles.XXXXXX")
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

echo "bench: $FILES files of $SIZE bytes, $RUNS round(s) of: cp -r, tar | tar over TCP, $PROTOCOLS; $(nproc) CPUs, $(go version | cut -d' ' -f3)"
python3 - "$TMP/src/tree" "$FILES" "$SIZE" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 1000), "e%02d" % (i // 100 % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
PY
SUM=$(cd "$TMP/src" && find tree -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
FERRY_HOME=$TMP/alice "$BIN/ferry" id >/dev/null
FERRY_HOME=$TMP/bob "$BIN/ferry" id >/dev/null

# same DIR fails unless DIR/tree holds the source's files.
same() {
	local got
	got=$(cd "$1" && find tree -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
	[[ $got == "$SUM" ]] || { echo "copy in $1 differs from the source" >&2; exit 1; }
}

now() { date +%s.%N; }

# cp_run prints the wall seconds of cp -r.
cp_run() {
	rm -rf "$TMP/cp"; mkdir -p "$TMP/cp"; sync
	local t0 t1
	t0=$(now); cp -r "$TMP/src/tree" "$TMP/cp/"; t1=$(now)
	same "$TMP/cp"
	echo "$t0 $t1" | awk '{printf "%.3f\n", $2-$1}'
}

# tar_run prints the wall seconds of tar | tar over a TCP socket.
tar_run() {
	rm -rf "$TMP/tar" "$TMP/port"; mkdir -p "$TMP/tar"; sync
	("$BT" tcp-recv -port-file "$TMP/port" | tar -C "$TMP/tar" -xf -) &
	local rpid=$!
	while [[ ! -s $TMP/port ]]; do sleep 0.01; done
	local t0 t1
	t0=$(now)
	tar -C "$TMP/src" -cf - tree | "$BT" tcp-send -addr "127.0.0.1:$(cat "$TMP/port")"
	wait "$rpid"
	t1=$(now)
	same "$TMP/tar"
	echo "$t0 $t1" | awk '{printf "%.3f\n", $2-$1}'
}

# ferry_run PROTOCOL prints "whole_s phase_s sender_rss_MiB receiver_rss_MiB".
ferry_run() {
	local proto=$1
	rm -rf "$TMP/inbox" "$TMP/bob" "$TMP/alice/hashcache.json" "$TMP/alice/outbox"; sync
	FERRY_HOME=$TMP/bob "$BIN/ferry" id >/dev/null
	FERRY_HOME=$TMP/bob FERRY_DEVICE_NAME=bob "$BT" rusage -o "$TMP/recv.rusage" -- \
		"$BIN/ferry" receive --yes --json --dir "$TMP/inbox" >"$TMP/recv.json" 2>"$TMP/recv.err" &
	local rpid=$!
	PIDS+=("$rpid")
	sleep 0.5 # the sender waits up to 10 s for the receiver to be discovered anyway
	FERRY_HOME=$TMP/alice FERRY_DEVICE_NAME=alice "$BT" rusage -o "$TMP/send.rusage" -- \
		"$BIN/ferry" send "$TMP/src/tree" --to bob --protocol "$proto" --json --retry-for 5m >"$TMP/send.json" 2>"$TMP/send.err" || {
		echo "$proto: ferry send failed: $(tail -1 "$TMP/send.err")" >&2
		kill -TERM "$rpid"; wait "$rpid" || true
		echo "failed"
		return
	}
	kill -TERM "$rpid"; wait "$rpid" || true
	same "$TMP/inbox"
	python3 - "$TMP/send.json" "$TMP/send.rusage" "$TMP/recv.rusage" <<'PY'
import json, sys
from datetime import datetime
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def t(e):
    s = e["time"].rstrip("Z")
    base, _, frac = s.partition(".")
    return datetime.fromisoformat(base + "+00:00").timestamp() + float("0." + (frac or "0"))
conn = [e for e in ev if e.get("event") == "state" and e.get("state") == "connected"][0]
done = [e for e in ev if e.get("event") == "done"][-1]
wall, srss, _, _ = open(sys.argv[2]).read().split()
_, rrss, _, _ = open(sys.argv[3]).read().split()
print("%s %.3f %d %d" % (wall, t(done) - t(conn), int(srss)//1024, int(rrss)//1024))
PY
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { awk -v n="$FILES" -v s="$1" 'BEGIN{printf "%.0f", n/s}'; }
declare -a CP TAR
declare -A WHOLE PHASE SRSS RRSS
for ((i = 1; i <= RUNS; i++)); do
	c=$(cp_run); CP+=("$c")
	tt=$(tar_run); TAR+=("$tt")
	line="round $i: cp -r $(rate "$c") files/s | tar|tar $(rate "$tt") files/s"
	for p in $PROTOCOLS; do
		read -r w ph s r < <(ferry_run "$p")
		if [[ $w == failed ]]; then
			line+=" | $p: failed"
			continue
		fi
		WHOLE[$p]+=" $w"; PHASE[$p]+=" $ph"; SRSS[$p]+=" $s"; RRSS[$p]+=" $r"
		line+=" | $p: whole $(rate "$w") files/s, phase $(rate "$ph") files/s, RSS MiB $s/$r"
	done
	echo "$line"
done
mc=$(median "${CP[@]}"); mt=$(median "${TAR[@]}")
echo
echo "median cp -r:            $(rate "$mc") files/s ($mc s)"
echo "median tar | tar (TCP):  $(rate "$mt") files/s ($mt s)"
for p in $PROTOCOLS; do
	if [[ -z ${WHOLE[$p]:-} ]]; then
		echo "$p: every run failed"
		continue
	fi
	# shellcheck disable=SC2086
	mw=$(median ${WHOLE[$p]}); mp=$(median ${PHASE[$p]}); ms=$(median ${SRSS[$p]}); mr=$(median ${RRSS[$p]})
	echo "$p:"
	echo "  whole command   $(rate "$mw") files/s ($mw s)  (target >= 2000)  ratio to cp -r $(awk -v a="$mc" -v b="$mw" 'BEGIN{printf "%.3f", a/b}'), to tar|tar $(awk -v a="$mt" -v b="$mw" 'BEGIN{printf "%.3f", a/b}')"
	echo "  transfer phase  $(rate "$mp") files/s ($mp s)"
	echo "  peak RSS        sender $ms MiB, receiver $mr MiB"
done
