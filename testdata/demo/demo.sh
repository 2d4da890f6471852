#!/usr/bin/env bash
# Ferry demo: two peers on this machine, each with its own FERRY_HOME (so its
# own ed25519 identity), connect through the external tcp plugin and secure
# the stream with TLS 1.3, each side pinning the other's peer ID. Then a
# negative check: a dialer told to expect a third peer's ID must refuse the
# connection.
#
# Run it with `make demo` (which builds bin/ first), or directly after
# `make build`. FERRY_BIN_DIR overrides where the binaries are (default bin/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FERRY_BIN_DIR:-$ROOT/bin}
FERRY=$BIN/ferry
export FERRY_CONFIG=$ROOT/configs/loopback.yaml

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

FAILED=0
pass() { echo "  ok:   $*"; }
fail() { echo "  FAIL: $*"; FAILED=1; }

# node NAME CMD...: run ferry as node NAME (its own home under $TMP).
node() {
	local name=$1
	shift
	FERRY_HOME=$TMP/$name "$FERRY" "$@"
}

# wait_for_file FILE PID: wait up to 15s for FILE, failing early if PID dies.
wait_for_file() {
	local file=$1 pid=$2 i
	for ((i = 0; i < 150; i++)); do
		[[ -s $file ]] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "demo: listener exited before writing $file" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "demo: timed out waiting for $file" >&2
	return 1
}

# show FILE: print a captured output, indented.
show() { sed 's/^/    | /' "$1"; }

echo "== identities"
ID_A=$(node a id)
ID_B=$(node b id)
ID_C=$(node c id)
echo "  node A: $ID_A"
echo "  node B: $ID_B"
echo "  node C: $ID_C (never runs; used for the negative check)"

echo "== B listens, A dials (config: $FERRY_CONFIG)"
node b debug listen --card "$TMP/card.json" --timeout 30s >"$TMP/b.out" 2>"$TMP/b.err" &
B_PID=$!
PIDS+=("$B_PID")
wait_for_file "$TMP/card.json" "$B_PID" || { show "$TMP/b.err"; exit 1; }

A_RC=0
node a debug dial --card "$TMP/card.json" >"$TMP/a.out" 2>"$TMP/a.err" || A_RC=$?
B_RC=0
wait "$B_PID" || B_RC=$?

echo "  A (dialer) said:"
show "$TMP/a.out"
echo "  B (listener) said:"
show "$TMP/b.out"
if ((A_RC != 0 || B_RC != 0)); then
	echo "  A stderr:"; show "$TMP/a.err"
	echo "  B stderr:"; show "$TMP/b.err"
fi

((A_RC == 0)) && pass "dialer exited 0" || fail "dialer exited $A_RC"
((B_RC == 0)) && pass "listener exited 0" || fail "listener exited $B_RC"
grep -qF "connected: verified peer $ID_B " "$TMP/a.out" &&
	pass "A verified B's peer ID" || fail "A did not verify B's peer ID"
grep -qF "connected: verified peer $ID_A " "$TMP/b.out" &&
	pass "B verified A's peer ID" || fail "B did not verify A's peer ID"
grep -qF "TLS 1.3, ALPN /ferry/debug/1" "$TMP/a.out" &&
	pass "TLS 1.3 with ALPN /ferry/debug/1" || fail "not TLS 1.3 with ALPN /ferry/debug/1"
grep -qF "greeting: hello from $ID_A" "$TMP/b.out" && grep -qF "greeting: hello from $ID_B" "$TMP/a.out" &&
	pass "greetings exchanged" || fail "greetings not exchanged"

echo "== negative check: A dials B but expects C's ID"
rm -f "$TMP/card.json"
node b debug listen --card "$TMP/card2.json" --timeout 20s >"$TMP/b2.out" 2>"$TMP/b2.err" &
B2_PID=$!
PIDS+=("$B2_PID")
wait_for_file "$TMP/card2.json" "$B2_PID" || { show "$TMP/b2.err"; exit 1; }

N_RC=0
node a debug dial --card "$TMP/card2.json" --expect "$ID_C" >"$TMP/n.out" 2>"$TMP/n.err" || N_RC=$?
kill "$B2_PID" 2>/dev/null || true # the listener sees a failed handshake; its exit code does not matter
wait "$B2_PID" 2>/dev/null || true
echo "  A (dialer) said on stderr:"
show "$TMP/n.err"
((N_RC != 0)) && pass "dial expecting the wrong ID failed (exit $N_RC)" || fail "dial expecting the wrong ID succeeded"
grep -qF "$ID_C" "$TMP/n.err" && grep -qF "$ID_B" "$TMP/n.err" &&
	pass "the error names the expected (C) and the actual (B) peer ID" || fail "the error does not name both IDs"
grep -q "verified peer" "$TMP/n.out" && fail "a connection was reported as verified" || pass "no connection was reported as verified"

echo
if ((FAILED)); then
	echo "DEMO FAIL"
	exit 1
fi
echo "DEMO PASS: two peers connected through the external tcp plugin over TLS 1.3, each pinning the other's ID; a wrong ID was refused"
