#!/usr/bin/env bash
# Daemon latency benchmark (issue 16): a 1 KiB file sent to a LAN peer on
# loopback, timed as the whole `ferry send` command (process start to
# exit: the receiver has verified the file), WARMUP times (default 3,
# shown apart) and then RUNS times (default 20)
# through a running `ferry daemon` (the send goes over its socket; its
# plugins and discovery are up already), and COLD_RUNS times (default 5)
# as the cold CLI does it without a daemon (start the plugins, discover
# the peer, send) from another home, in the same run. The receiver is a
# `ferry receive --yes` in a third home. Prints every run, the medians
# and their ratio; the target is a daemon median under 50 ms. `ferry` is
# the front (cmd/ferry): with the daemon running, the send runs inside it;
# without one, the front executes ferry-node. For scale, it also times
# `ferry-node --help` (starting the full program: its package
# initialisation, which a send through the daemon no longer pays) and
# /bin/true (starting any process here), RUNS times each.
# Needs `make build` first (bin/). Only 127.0.0.1 is used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
COLD_RUNS=${COLD_RUNS:-5}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-daemonlat.XXXXXX")
chmod 700 "$TMP"
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$((46000 + RANDOM % 2000))
sed -e "s/port: 41771/port: $PORT/" -e "s/announce_interval: 5s/announce_interval: 1s/" "$ROOT/configs/loopback.yaml" >"$TMP/loopback.yaml"
export FERRY_CONFIG=$TMP/loopback.yaml
mkdir -m 700 "$TMP/warm" "$TMP/cold" "$TMP/recv" "$TMP/in"
head -c 1024 /dev/urandom >"$TMP/one.bin"

FERRY_HOME=$TMP/recv "$BIN/ferry" receive --yes --dir "$TMP/in" >"$TMP/recv.log" 2>&1 &
PIDS+=($!)
FERRY_HOME=$TMP/warm "$BIN/ferry" daemon --dir "$TMP/in" >"$TMP/daemon.log" 2>&1 &
PIDS+=($!)
TO=$(FERRY_HOME=$TMP/recv "$BIN/ferry" id | head -1)

# Wait until the daemon sees the receiver.
for _ in $(seq 1 200); do
	if FERRY_HOME=$TMP/warm "$BIN/ferry" peers 2>/dev/null | grep -q "$TO"; then break; fi
	sleep 0.05
done
FERRY_HOME=$TMP/warm "$BIN/ferry" peers | grep -q "$TO" || { echo "the daemon never saw the receiver"; cat "$TMP/daemon.log"; exit 1; }
# And the receiver the daemon (its answers go back over signaling).
sleep 2

# Times come from bash's EPOCHREALTIME, read without forking (a
# $(date) around each run would add its own process start, ~10 ms here).
ms_between() { echo "scale=1; (${2/./} - ${1/./}) / 1000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

run_send() { # home label
	local t0 t1
	t0=$EPOCHREALTIME
	if ! FERRY_HOME=$1 "$BIN/ferry" send "$TMP/one.bin" --to "$TO" >"$TMP/send.log" 2>&1; then
		echo "$2 send failed:" >&2; cat "$TMP/send.log" >&2; exit 1
	fi
	t1=$EPOCHREALTIME
	ms_between "$t0" "$t1"
}

echo "bench: 1 KiB to a LAN peer on loopback, whole ferry send; $WARMUP warm-up and $RUNS timed through the daemon, $COLD_RUNS cold; $(nproc) CPUs"
: >"$TMP/warm.ms"
: >"$TMP/cold.ms"
: >"$TMP/first.ms"
# The daemon's first sends run code paths and connections for the first
# time (page faults in its and its plugins' code, first gRPC calls): they
# are timed and shown, and the median is of the runs after them, the
# steady state a daemon that runs all day is in.
for i in $(seq 1 "$WARMUP"); do
	ms=$(run_send "$TMP/warm" daemon)
	echo "$ms" >>"$TMP/first.ms"
	echo "daemon warm-up $i: $ms ms"
done
for i in $(seq 1 "$RUNS"); do
	ms=$(run_send "$TMP/warm" daemon)
	echo "$ms" >>"$TMP/warm.ms"
	echo "daemon run $i: $ms ms"
done
for i in $(seq 1 "$COLD_RUNS"); do
	ms=$(run_send "$TMP/cold" cold)
	echo "$ms" >>"$TMP/cold.ms"
	echo "cold run $i: $ms ms"
done
: >"$TMP/start.ms"
: >"$TMP/true.ms"
for _ in $(seq 1 "$RUNS"); do
	t0=$EPOCHREALTIME
	"$BIN/ferry-node" --help >/dev/null
	t1=$EPOCHREALTIME
	ms_between "$t0" "$t1" >>"$TMP/start.ms"
	t0=$EPOCHREALTIME
	/bin/true
	t1=$EPOCHREALTIME
	ms_between "$t0" "$t1" >>"$TMP/true.ms"
done
n=$(find "$TMP/in" -name 'one*.bin' | wc -l)
[[ $n -eq $((WARMUP + RUNS + COLD_RUNS)) ]] || { echo "the receiver holds $n copies, want $((WARMUP + RUNS + COLD_RUNS))"; exit 1; }
for f in "$TMP"/in/one*.bin; do cmp -s "$f" "$TMP/one.bin" || { echo "$f differs"; exit 1; }; done

warm=$(median <"$TMP/warm.ms")
cold=$(median <"$TMP/cold.ms")
echo "median through the daemon: $warm ms (target < 50 ms)"
echo "  with the warm-up runs:    $(cat "$TMP/first.ms" "$TMP/warm.ms" | median) ms"
echo "median cold CLI:           $cold ms"
echo "cold / daemon:             $(echo "scale=1; $cold / $warm" | bc)x"
echo "median ferry-node --help:  $(median <"$TMP/start.ms") ms (starting the full program, which the front spares a command through the daemon)"
echo "median /bin/true:           $(median <"$TMP/true.ms") ms (starting any process on this machine)"
echo "load average:              $(cut -d' ' -f1-3 /proc/loadavg)"
