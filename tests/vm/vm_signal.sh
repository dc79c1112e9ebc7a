#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# SIGTERM while the guest runs: tpmcrb vm stops QEMU, exits 128+15 and
# leaves no files or processes behind; likewise when QEMU itself dies.
. "$(dirname "$0")/lib.sh"
require_qemu
make_workdir

printf 'echo GUEST-WAITING\nsleep 600\n' > "$WORK/wait.sh"

# wait_for_guest OUT: until the guest script runs (or 120 s).
wait_for_guest() {
    for _ in $(seq 1 240); do
        grep -aq '^GUEST-WAITING' "$1" && return 0
        sleep 0.5
    done
    return 1
}

# Stop one run with @how ("tpmcrb": SIGTERM to tpmcrb; "qemu": SIGKILL to
# QEMU) and check the exit status and the cleanup.
stop_run() {
    local how=$1 want=$2 out=$WORK/console-$1 pid qemu rc
    TMPDIR=$WORK/tmp "$TPMCRB" vm --guest-script "$WORK/wait.sh" > "$out" 2>&1 &
    pid=$!
    wait_for_guest "$out" || { kill "$pid"; fail "the guest did not start"; }
    if [ "$how" = tpmcrb ]; then
        kill -TERM "$pid"
    else
        qemu=$(pgrep -f -P "$pid" qemu-system) || fail "no QEMU child"
        kill -KILL "$qemu"
    fi
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "tpmcrb vm did not exit ($how)"; }
    wait "$pid"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "exit status $rc after stopping $how, want $want"
    check_no_leftovers || fail "cleanup after stopping $how"
    echo "ok: stopped via $how, exit $rc"
}

stop_run tpmcrb 143
stop_run qemu 1
echo "PASS: vm signal"
