#!/usr/bin/env bash
# Ferry demo: two peers on this machine, each with its own FERRY_HOME (so its
# own ed25519 identity). B runs `ferry receive`; A runs `ferry send` with B's
# name. A finds B by LAN broadcast on the loopback interface
# (configs/loopback.yaml: nothing leaves this machine), sends a sealed offer,
# B accepts, and the files move over the external tcp transport, TLS 1.3
# pinned to both IDs, with the ftv2a protocol. The demo then checks the
# SHA-256 of every file on both sides.
#
# Run it with `make demo` (which builds bin/ first), or directly after
# `make build`. FERRY_BIN_DIR overrides where the binaries are (default bin/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
FERRY=$BIN/ferry

if [[ ! -x $FERRY ]]; then
	echo "demo: $FERRY not found; run 'make build' first" >&2
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# The loopback config, on a LAN port of its own so that a demo never hears
# a test (or another demo) running at the same time.
PORT=$((42000 + RANDOM % 2000))
sed "s/port: 41771/port: $PORT/" "$ROOT/configs/loopback.yaml" >"$TMP/loopback.yaml"
export FERRY_CONFIG=$TMP/loopback.yaml

FAILED=0
pass() { echo "  ok:   $*"; }
fail() { echo "  FAIL: $*"; FAILED=1; }
show() { sed 's/^/    | /' "$1"; }

# as NAME CMD...: become ferry running as device NAME (its own home under
# $TMP). It execs, so call it only in a subshell: "as ... &" runs it in the
# background subshell itself, leaving $! = ferry's PID for the cleanup.
as() {
	export FERRY_HOME=$TMP/$1 FERRY_DEVICE_NAME=$1
	shift
	exec "$FERRY" "$@"
}

# node NAME CMD...: run ferry as device NAME in the foreground.
node() { (as "$@"); }

echo "== identities"
ID_A=$(node alice id)
ID_B=$(node bob id)
echo "  alice: $ID_A"
echo "  bob:   $ID_B"

echo "== files to send"
mkdir -p "$TMP/src/photos/2026"
head -c $((64 << 20)) /dev/urandom >"$TMP/src/video.bin"
for i in $(seq 1 20); do
	head -c $((RANDOM * 4)) /dev/urandom >"$TMP/src/photos/2026/img$i.jpg"
done
echo "hello from alice" >"$TMP/src/photos/readme.txt"
echo "  video.bin (64 MiB) and photos/ ($(find "$TMP/src/photos" -type f | wc -l) files)"

echo "== bob receives (ferry receive --yes), alice sends to \"bob\" (config: configs/loopback.yaml, lan port $PORT)"
as bob receive --yes --dir "$TMP/inbox" >"$TMP/bob.out" 2>"$TMP/bob.err" &
PIDS+=($!)

A_RC=0
node alice send "$TMP/src/video.bin" "$TMP/src/photos" --to bob >"$TMP/alice.out" 2>"$TMP/alice.err" || A_RC=$?
sleep 0.5
echo "  alice said:"
show "$TMP/alice.out"
echo "  bob said:"
show "$TMP/bob.out"
if ((A_RC != 0)); then
	echo "  alice stderr:"; show "$TMP/alice.err"
	echo "  bob stderr:"; show "$TMP/bob.err"
fi

((A_RC == 0)) && pass "ferry send exited 0 (the receiver verified every file)" || fail "ferry send exited $A_RC"
N=$(find "$TMP/src" -type f | wc -l)
grep -q "done: $N file(s)" "$TMP/bob.out" && pass "bob reports the transfer done" || fail "bob did not report the transfer done"
(cd "$TMP/src" && find . -type f -exec sha256sum {} + | sort -k2) >"$TMP/src.sums"
(cd "$TMP/inbox" && find . -type f -exec sha256sum {} + | sort -k2) >"$TMP/dst.sums" 2>/dev/null || true
if cmp -s "$TMP/src.sums" "$TMP/dst.sums"; then
	pass "sha256 of all $(wc -l <"$TMP/src.sums") files match on both sides"
else
	fail "files differ:"; diff "$TMP/src.sums" "$TMP/dst.sums" | head -20
fi

echo
if ((FAILED)); then
	echo "DEMO FAIL"
	exit 1
fi
echo "DEMO PASS: alice found bob by LAN broadcast on loopback, bob accepted, $N files (64 MiB + a folder) arrived over TLS 1.3 with ftv2a, hashes verified"
