#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb serve` end to end: another process drives the device through the
# shared file; SIGTERM powers off and saves the state, and a second serve on
# the same state resumes the started TPM (TPM2_Startup answers INITIALIZE).
set -euo pipefail
client=$1
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
shm=$work/ram
truncate -s 64K "$shm"

serve() {
    # Emptied here, before the start: the shell opens the log for serve
    # only in the child, and the previous serve's "device at" must not be
    # taken for this one's (the client would write into the window before
    # this serve has reset it, and the write would be lost).
    : >"$work/log"
    "$TPMCRB" serve --log-level info --shm "$shm" --offset 0 --state "$work/state" 2>"$work/log" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "device at" "$work/log" && return 0
        sleep 0.05
    done
    echo "serve did not start:"; cat "$work/log"; exit 1
}

serve
"$client" "$shm" 0 0 200            # fresh TPM: TPM2_Startup succeeds
kill -TERM $pid; wait $pid || { echo "serve exited with $?"; cat "$work/log"; exit 1; }
[ -s "$work/state" ] || [ -n "$(ls -A "$work/state")" ] || { echo "no state saved"; exit 1; }

serve
"$client" "$shm" 0 0x100 10         # resumed: TPM_RC_INITIALIZE
kill -TERM $pid; wait $pid
echo "serve: ok"
