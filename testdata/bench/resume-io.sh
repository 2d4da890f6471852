#!/usr/bin/env bash
# Resume I/O: a SIZE_MIB (default 1024) jsonchunk transfer on loopback is cut
# at about half (the sending ferry and its plugins are killed with SIGKILL),
# then resumed with `ferry resume`. Printed: the bytes the receiver still
# lacked, and what each side read during the resume, from /proc/PID/io of
# every process of it (the ferry process and its plugins): rchar (bytes
# through read calls: files and sockets) and read_bytes (bytes fetched from
# the disk). As root the page cache is dropped before the resume, so
# read_bytes shows the file reads alone. The sender's figures are also
# given less a baseline: what `ferry plugins list --start` reads (the core
# hashes every plugin binary against its pin at start-up). Needs `make build`. Only 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
SIZE_MIB=${SIZE_MIB:-1024}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-resume.XXXXXX")
RPID=""
cleanup() {
	[[ -n $RPID ]] && kill "$RPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
PORT=$((48000 + RANDOM % 1000))
sed -e "s/port: 41771/port: $PORT/" "$ROOT/configs/loopback.yaml" >"$TMP/cfg.yaml"
export FERRY_CONFIG=$TMP/cfg.yaml
head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/data.bin"
BYTES=$((SIZE_MIB << 20))

# io PID...: the sum of "rchar read_bytes" over the processes and their
# children.
io() {
	local r=0 d=0 p
	for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
		[[ -r /proc/$p/io ]] || continue
		read -r a b < <(awk '/^rchar:/ {r=$2} /^read_bytes:/ {d=$2} END {print r, d}' "/proc/$p/io")
		r=$((r + a)); d=$((d + b))
	done
	echo "$r $d"
}

FERRY_HOME=$TMP/bob FERRY_DEVICE_NAME=bob "$BIN/ferry" receive --yes --json --dir "$TMP/inbox" >"$TMP/recv.json" 2>"$TMP/recv.err" &
RPID=$!
sleep 0.5
setsid env FERRY_HOME="$TMP/alice" FERRY_DEVICE_NAME=alice "$BIN/ferry" send "$TMP/data.bin" --to bob --protocol jsonchunk --json >"$TMP/send1.json" 2>"$TMP/send1.err" &
SPID=$!
# Cut when the receiver's part file holds half the file.
for _ in $(seq 1 600); do
	part=$(find "$TMP/inbox" -type f -name '*.ferry-part' 2>/dev/null | head -1)
	if [[ -n $part ]] && (($(stat -c %s "$part" 2>/dev/null || echo 0) >= BYTES / 2)); then break; fi
	sleep 0.05
done
kill -KILL -- -"$SPID" 2>/dev/null || kill -KILL "$SPID"
wait "$SPID" 2>/dev/null || true
sleep 1.5 # the receiver notices the cut and commits what it holds

drop() {
	if [[ -w /proc/sys/vm/drop_caches ]]; then
		sync
		echo 3 >/proc/sys/vm/drop_caches
		dropped="page cache dropped before the resume"
	else
		dropped="page cache not dropped (not root): read_bytes may miss cached reads"
	fi
}
# watch PID: the largest "rchar read_bytes" of PID's tree until it exits.
watch() {
	local pid=$1 last="0 0" cur
	while kill -0 "$pid" 2>/dev/null; do
		cur=$(io "$pid")
		[[ ${cur% *} -gt ${last% *} ]] && last=$cur
		sleep 0.05
	done
	echo "$last"
}
# Baseline: what starting the sender's plugins reads (the core hashes each
# plugin binary against its pin; the binaries are paged in).
drop
FERRY_HOME=$TMP/alice "$BIN/ferry" plugins list --start >/dev/null 2>&1 &
BPID=$!
read -r br bd < <(watch "$BPID")
wait "$BPID" || true
drop
read -r r0 d0 < <(io "$RPID")
FERRY_HOME=$TMP/alice FERRY_DEVICE_NAME=alice "$BIN/ferry" resume --json >"$TMP/send2.json" 2>"$TMP/send2.err" &
SPID=$!
last=$(watch "$SPID")
wait "$SPID" || { echo "resume failed:" >&2; cat "$TMP/send2.err" >&2; exit 1; }
read -r r1 d1 < <(io "$RPID")
cmp -s "$TMP/data.bin" "$TMP/inbox/data.bin" || { echo "received file differs" >&2; exit 1; }
held=$(python3 - "$TMP/send2.json" <<'PY'
import json, sys
off = 0
for l in open(sys.argv[1]):
    if l.startswith("{"):
        e = json.loads(l)
        if e.get("event") == "file":
            off = max(off, e.get("offset", 0))
print(off)
PY
)
missing=$((BYTES - held))
read -r sr sd <<<"$last"
mib() { awk -v b="$1" 'BEGIN{printf "%.1f MiB", b/1048576}'; }
ratio() { awk -v a="$1" -v b="$missing" 'BEGIN{printf "%.2f", a/b}'; }
echo "resume of a $SIZE_MIB MiB jsonchunk transfer cut at $(mib "$held") ($dropped)"
echo "  missing:  $(mib "$missing")"
echo "  sender:   rchar $(mib "$sr"), read_bytes $(mib "$sd"); less the start-up baseline (rchar $(mib "$br"), read_bytes $(mib "$bd")):"
echo "            rchar $(mib $((sr - br))) ($(ratio $((sr - br)))x missing), read_bytes $(mib $((sd - bd))) ($(ratio $((sd - bd)))x)"
echo "  receiver: rchar $(mib $((r1 - r0))) ($(ratio $((r1 - r0)))x missing; its socket reads included), read_bytes $(mib $((d1 - d0))) ($(ratio $((d1 - d0)))x)"
