#!/usr/bin/env bash
# The fault suite (issue 18): kill -9 storms of the receiver and of the
# sender for each protocol, kill -9 of each plugin on each side, a full disk
# (a small tmpfs; needs root, else those cases skip and say why) and a
# proxy that flips a bit on every connection after 10 MB. Each case checks
# its outcome (the file verified, re-sent bytes within one window per cut,
# causes named on both sides); the script prints the table: case, what was
# done, outcome, bytes re-sent, time.
#
#   FORM=full  (make faults)        1 GiB, 10 kills per storm: ~10 minutes
#   FORM=short (make faults-short)  64 MiB, 2 kills: what CI runs, ~2 minutes
#
# The cases are TestFaults in cmd/ferry-node, which reuses the e2e helpers there
# (ferry processes, the cutting proxy, the tmpfs); they need bin/ from
# `make build` (FERRY_BIN_DIR).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
form=${FORM:-full}
: "${FERRY_BIN_DIR:=$PWD/bin}"
export FERRY_BIN_DIR
table=$(mktemp)
log=$(mktemp)
trap 'rm -f "$table" "$log"' EXIT
status=0
FERRY_FAULTS=$form FERRY_FAULTS_OUT=$table go test -count=1 -run 'TestFaults' -v -timeout 60m ./cmd/ferry-node/ >"$log" 2>&1 || status=$?
grep -E '^\s*--- (FAIL|SKIP)|^\s+\S+_test\.go:[0-9]+: ' "$log" || true
echo
echo "fault suite, $form form:"
if [[ -s $table ]]; then cat "$table"; else echo "(no table: the suite did not finish)"; tail -50 "$log"; fi
exit "$status"
