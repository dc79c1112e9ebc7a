#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/guest/progress.sh, what the guest preparation reports a long
# first run with: a stage line, then a line per period while a step runs,
# and nothing once the step is over (no ticker left behind).
set -uo pipefail
: "${TPMCRB_SRCDIR:?set by meson}"
out=$(mktemp "${TMPDIR:-/tmp}/tpmcrb-progress.XXXXXX")
trap 'rm -f "$out"' EXIT
fail=0

TPMCRB_PROGRESS_SECONDS=1 bash -c '
    log() { echo "test: $*" >&2; }
    . "$1"
    trap progress_stop EXIT
    progress_stage 1/2 "fetching"
    progress_start "fetching something"
    sleep 3.5
    progress_stop
    echo "stopped" >&2
    sleep 2
    progress_start "failing step"
    sleep 1.5
    exit 3  # the EXIT trap stops the ticker
' _ "$TPMCRB_SRCDIR/scripts/guest/progress.sh" 2> "$out"
rc=$?
sleep 2
[ $rc = 3 ] || { echo "FAIL: the script exited $rc"; fail=1; }
grep -qx 'test: \[1/2\] fetching' "$out" || { echo "FAIL: no stage line"; fail=1; }
n=$(sed '/^stopped$/q' "$out" | grep -c '^test: \.\.\. fetching something: [0-9]* s$')
[ "$n" -ge 2 ] && [ "$n" -le 4 ] || { echo "FAIL: $n progress lines in 3.5 s at 1 s"; fail=1; }
after=$(sed '1,/^stopped$/d' "$out" | grep -c 'fetching something')
[ "$after" = 0 ] || { echo "FAIL: progress lines after progress_stop"; fail=1; }
late=$(grep -c 'failing step' "$out")
[ "$late" -le 2 ] || { echo "FAIL: the ticker outlived its script ($late lines)"; fail=1; }
[ $fail = 0 ] && echo "progress: ok" || cat "$out"
exit $fail
