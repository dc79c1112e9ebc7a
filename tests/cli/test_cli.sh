#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The tool's contract: --help and --version succeed, usage errors exit 2,
# runtime errors exit 1, for every subcommand.
set -uo pipefail
fail=0
expect() {
    local want=$1; shift
    "$TPMCRB" "$@" >/dev/null 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: tpmcrb $* exited $got, expected $want"; fail=1
    fi
}
expect 0 --help
expect 0 --version
"$TPMCRB" --version | grep -qx "tpmcrb [0-9.]*" || { echo "FAIL: --version output"; fail=1; }
expect 2
expect 2 no-such-command
for c in pipe vm serve acpi bench state; do
    expect 0 $c --help
    expect 2 $c --no-such-option
done
expect 2 bench no-such-benchmark
expect 2 bench pipe --no-such-option
expect 2 serve                                  # --shm is required
expect 1 serve --shm /nonexistent/file
expect 2 acpi --base 0x1001 -o /tmp             # not page aligned
expect 1 pipe --backend no-such-backend </dev/null
[ $fail = 0 ] && echo "cli: ok"
exit $fail
