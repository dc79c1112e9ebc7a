#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The series' off-by-default build with libtpms inside QEMU
# (integrations/qemu/build-qemu --embedded-libtpms): Linux on -device
# tpm-crb,libtpms-state=DIR, no swtpm, SeaBIOS:
#   the builds: the default patched build links no libtpms and has no
#           libtpms-state property; the embedded build links libtpms;
#   boot 1: tpm_crb binds, tpm2 getrandom works, PCR 16 after three
#           extends equals the value computed here, an NV index is written,
#           and the device ran the guest's loop of TPM2_GetRandom on the
#           vCPU thread (libtpmcrb's fast path: ran-on-start-thread);
#   between the boots, QEMU paused on the same state directory:
#           migrate and savevm are refused with the blocker's reason, and a
#           second QEMU on that directory is refused (the library's owner
#           lock);
#   boot 2 (same state directory): the NV index still holds the data and
#           PCR 16 is back to zero (a new boot resets the TPM).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PATCHED=$(patched_qemu)
QEMU=$(embedded_qemu)
prepare_guest
say "qemu: $QEMU"

# ---------------------------------------------------------------- builds
# grep without -q reads to the end: under pipefail, grep -q leaving early can
# kill the writer with SIGPIPE and fail a pipeline whose line was found.
links_libtpms() { ldd "$1" | grep 'libtpms\.so' >/dev/null; }
ldd "$PATCHED" | grep 'libtpmcrb\.so' >/dev/null || fail "$PATCHED does not link libtpmcrb"
! links_libtpms "$PATCHED" || fail "the default build $PATCHED links libtpms"
! "$PATCHED" -device tpm-crb,help | grep libtpms-state >/dev/null ||
    fail "the default build has the libtpms-state property"
links_libtpms "$QEMU" || fail "the embedded build $QEMU does not link libtpms"
"$QEMU" -device tpm-crb,help | grep libtpms-state >/dev/null ||
    fail "the embedded build has no libtpms-state property"
say "the default build links no libtpms and has no libtpms-state; the embedded build has both"

mkdir -m 0700 "$tmp/state"
nv_data=tpmcrb-nv-$RANDOM$RANDOM
LOOP_COMMANDS=2000
device="tpm-crb,id=tpm0,libtpms-state=$tmp/state"

{
    echo 'fail() { echo "GUEST-FAIL: $*"; exit 1; }'
    echo '[ -c /dev/tpm0 ] && [ -c /dev/tpmrm0 ] || fail "no /dev/tpm0 or /dev/tpmrm0"'
    echo 'ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"'
    guest_tpm_checks "$nv_data"
    echo "tpmloop -n $LOOP_COMMANDS /dev/tpm0 || fail tpmloop"
} >"$tmp/boot1.sh"
{
    echo 'fail() { echo "GUEST-FAIL: $*"; exit 1; }'
    guest_nv_readback "$nv_data"
} >"$tmp/boot2.sh"

say "boot 1"
guest_initrd "$tmp/boot1.sh" "$tmp/initrd1"
qemu_base_args
start=$SECONDS
run_guest "$tmp/boot1.log" 300 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd1" \
    -device "$device" -trace 'tpmcrb_stats*' ||
    { cat "$tmp/boot1.log"; fail "boot 1 script failed"; }
say "boot 1 took $((SECONDS - start)) s"
grep -E '^(RANDOM|PCR16|NV|TPMLOOP)' "$tmp/boot1.log" | tr -d '\r'

# The device's counters at QEMU's exit: the guest's loop of quick commands
# ran on the thread that wrote START, none through the worker.
commands=$(sed -n 's/.*tpmcrb_stats commands \([0-9]*\) .*/\1/p' "$tmp/boot1.log" | tail -n 1)
on_start=$(sed -n 's/.*tpmcrb_stats_start_thread .* \([0-9]*\)$/\1/p' "$tmp/boot1.log" | tr -d '\r' | tail -n 1)
[ -n "$commands" ] && [ -n "$on_start" ] || fail "the device reported no statistics at exit"
say "$on_start of $commands commands ran on the vCPU thread that wrote START"
[ "$commands" -ge "$LOOP_COMMANDS" ] || fail "the device counted $commands commands, fewer than the guest's loop"
[ "$on_start" -ge "$LOOP_COMMANDS" ] ||
    fail "only $on_start commands ran on the START thread; the guest's $LOOP_COMMANDS TPM2_GetRandom should have"

# --------------------------------------------- blocker and owner lock
say "migration blocker and state directory lock"
sock=$tmp/qmp.sock
"$QEMU" -machine q35 -accel tcg -display none -nodefaults -nic none -S \
    -L /usr/share/seabios -L /usr/share/qemu \
    -qmp "unix:$sock,server=on,wait=off" -device "$device" \
    </dev/null >"$tmp/paused.log" 2>&1 &
qemu_pids+=($!)
paused=$!
# qmp.py stops at the first failed command: one call each.
for cmd in '{"execute": "migrate", "arguments": {"uri": "exec:cat >/dev/null"}}' \
           'hmp:savevm snap1'; do
    reply=$(qmp "$sock" "$cmd" 2>&1) || true
    echo "$reply"
    grep -q 'does not migrate its state' <<<"$reply" ||
        fail "not refused with the blocker's reason: $cmd"
done
second=$(timeout 60 "$QEMU" -machine q35 -accel tcg -display none -nodefaults \
    -nic none -S -L /usr/share/seabios -L /usr/share/qemu \
    -device "$device" </dev/null 2>&1) && fail "a second QEMU took the same state directory"
echo "$second" | head -n 3
grep -q "cannot open the embedded libtpms TPM" <<<"$second" ||
    fail "the second QEMU failed for another reason than the state directory"
qmp "$sock" '{"execute": "quit"}' >/dev/null 2>&1 || true
wait "$paused" 2>/dev/null || true

say "boot 2 (same state directory)"
guest_initrd "$tmp/boot2.sh" "$tmp/initrd2"
run_guest "$tmp/boot2.log" 300 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd2" \
    -device "$device" ||
    { cat "$tmp/boot2.log"; fail "boot 2 script failed"; }
grep -E '^(NVREAD|PCR16)' "$tmp/boot2.log" | tr -d '\r'
check_tpm_boots "$tmp/boot1.log" "$tmp/boot2.log" "$nv_data"
perms=$(stat -c %a "$tmp/state")
[ "$perms" = 700 ] || fail "the state directory is $perms, not 0700"
say "PASS: embedded libtpms in tpm-crb: driver, getrandom, PCR extend, NV persistence, quick commands on the vCPU thread, migration blocked, state directory locked; the default build links no libtpms"
