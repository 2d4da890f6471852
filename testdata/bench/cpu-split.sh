#!/usr/bin/env bash
# Where a transfer's CPU goes: one SIZE_MIB (default 1024) transfer between
# two ferry processes on loopback with PROTOCOL (default jsonchunk) and MODE
# (default fast), printing user and system CPU seconds of every process on
# each side (the ferry core and each plugin, sampled from /proc until each
# exits), and the top functions of both cores' CPU profiles
# (FERRY_CPUPROFILE). Needs `make build` first. Only 127.0.0.1 is used.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
SIZE_MIB=${SIZE_MIB:-1024}
PROTOCOL=${PROTOCOL:-jsonchunk}
MODE=${MODE:-fast}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-cpu.XXXXXX")
RPID=""
cleanup() {
	[[ -n $RPID ]] && kill "$RPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
PORT=$((46000 + RANDOM % 2000))
sed -e "s/port: 41771/port: $PORT/" -e "s/mode: fast/mode: $MODE/" "$ROOT/configs/loopback.yaml" >"$TMP/cfg.yaml"
export FERRY_CONFIG=$TMP/cfg.yaml
head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/data.bin"
TCK=$(getconf CLK_TCK)

# sample PID...: keep the last utime/stime (in ticks) of each process of the
# trees rooted at the given PIDs, until the first root exits.
sample() {
	local out=$1 root=$2
	declare -A seen
	while kill -0 "$root" 2>/dev/null; do
		for p in $root $(pgrep -P "$root" || true); do
			[[ -r /proc/$p/stat ]] || continue
			read -r -a f < <(sed 's/^[0-9]* (\([^)]*\))/\1/' "/proc/$p/stat" 2>/dev/null) || continue
			seen[$p]="${f[0]} ${f[12]} ${f[13]}"
		done
		sleep 0.1
	done
	for p in "${!seen[@]}"; do echo "${seen[$p]}"; done >"$out"
}

FERRY_HOME=$TMP/bob FERRY_DEVICE_NAME=bob FERRY_CPUPROFILE=$TMP/recv.prof \
	"$BIN/ferry" receive --yes --json --dir "$TMP/inbox" >"$TMP/recv.json" 2>"$TMP/recv.err" &
RPID=$!
sample "$TMP/recv.cpu" "$RPID" &
SPR=$!
sleep 0.5
FERRY_HOME=$TMP/alice FERRY_DEVICE_NAME=alice FERRY_CPUPROFILE=$TMP/send.prof \
	"$BIN/ferry" send "$TMP/data.bin" --to bob --protocol "$PROTOCOL" --json >"$TMP/send.json" 2>"$TMP/send.err" &
SPID=$!
sample "$TMP/send.cpu" "$SPID"
wait "$SPID" || { echo "send failed" >&2; cat "$TMP/send.err" >&2; exit 1; }
kill -TERM "$RPID"; wait "$RPID" || true
RPID=""
wait "$SPR" || true
cmp -s "$TMP/data.bin" "$TMP/inbox/data.bin" || { echo "copy differs" >&2; exit 1; }

echo "CPU seconds for $SIZE_MIB MiB over $PROTOCOL ($MODE), per process (user + system):"
for side in send recv; do
	awk -v t="$TCK" -v side="$side" '{u+=$2; s+=$3; printf "  %-7s %-10s user %5.2f  sys %5.2f\n", side, $1, $2/t, $3/t} END {printf "  %-7s %-10s user %5.2f  sys %5.2f\n", side, "TOTAL", u/t, s/t}' "$TMP/$side.cpu"
done
for side in send recv; do
	echo
	echo "top of the $side core's CPU profile:"
	go tool pprof -top -nodecount=15 "$BIN/ferry-node" "$TMP/$side.prof" 2>/dev/null | sed -n '1,22p'
done
