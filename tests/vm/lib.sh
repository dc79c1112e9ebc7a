#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Shared by the guest end-to-end tests: boot the default guest with
# `tpmcrb vm`, run a guest script, read what it printed.
set -u

: "${TPMCRB:?set by meson (test_env)}" "${TPMCRB_SRCDIR:?set by meson (test_env)}"
VM_TIMEOUT=${VM_TIMEOUT:-300}
VM_DIR=$TPMCRB_SRCDIR/tests/vm

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

require_qemu() {
    command -v qemu-system-x86_64 >/dev/null ||
        skip "qemu-system-x86_64 is not installed (scripts/deps.sh installs it)"
    # TCG is enough: no KVM needed.
}

# A private TMPDIR, so that a test can see that tpmcrb vm left nothing.
make_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-vmtest.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    mkdir -p "$WORK/tmp"
}

# guest_script NAME LINES...: a guest script in $WORK that first sets the
# given shell variables, then runs the common checks (guest_checks.sh).
guest_script() {
    local name=$1
    shift
    {
        printf '%s\n' "$@"
        cat "$VM_DIR/guest_checks.sh"
    } > "$WORK/$name"
    echo "$WORK/$name"
}

# run_vm OUT SCRIPT [tpmcrb vm options...]: boot, console to OUT; returns
# tpmcrb vm's exit status (the guest script's).
run_vm() {
    local out=$1 script=$2 start=$SECONDS rc
    shift 2
    TMPDIR=$WORK/tmp timeout -k 10 "$VM_TIMEOUT" \
        "$TPMCRB" vm --guest-script "$script" "$@" > "$out" 2>&1
    rc=$?
    echo "tpmcrb vm $* -> exit $rc in $((SECONDS - start)) s"
    if [ "$rc" -ne 0 ]; then
        echo "---- console (last 40 lines) ----"
        tail -n 40 "$out"
        echo "---------------------------------"
    fi
    return $rc
}

# value KEY OUT: the value of the last KEY=value the guest printed.
value() {
    grep -a -o "$1=[^[:space:]]*" "$2" | tail -n 1 | cut -d= -f2- | tr -d '\r'
}

# The SHA-256 PCR value after one extend of a reset PCR with DIGEST (hex):
# sha256(32 zero bytes || digest), in upper case as tpm2 pcrread prints it.
expected_pcr() {
    # The digest becomes printf escapes (\xAB...): its bytes, not its text.
    # shellcheck disable=SC2059
    { head -c 32 /dev/zero; printf "$(printf %s "$1" | sed 's/../\\x&/g')"; } |
        sha256sum | cut -d' ' -f1 | tr a-f A-F
}

TEST_DIGEST=$(printf 'tpmcrb end-to-end' | sha256sum | cut -d' ' -f1)

# check_common OUT: what guest_checks.sh promised, checked on the host.
check_common() {
    local out=$1 pcr want
    grep -aq '^CHECKS-OK' "$out" || { echo "guest checks did not pass"; return 1; }
    pcr=$(value PCR23 "$out")
    want=$(expected_pcr "$TEST_DIGEST")
    if [ "$pcr" != "$want" ]; then
        echo "PCR 23 is '$pcr', computed on the host: $want"
        return 1
    fi
}

# No temporary files may be left behind, whatever way the run ended.
check_no_leftovers() {
    if [ -n "$(ls -A "$WORK/tmp")" ]; then
        echo "tpmcrb vm left files behind: $(ls -A "$WORK/tmp")"
        return 1
    fi
    if pgrep -f "$WORK/tmp" >/dev/null; then
        echo "a child process of tpmcrb vm is still running"
        return 1
    fi
}
