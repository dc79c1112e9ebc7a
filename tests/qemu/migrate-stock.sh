#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The patched tpm-crb is a drop-in for QEMU's own: a guest migrates from
# the stock build of the same QEMU to the patched one and back while it
# extends PCR 16 with the digests 1..N (and a second loop keeps
# /dev/tpmrm0 busy). Same command line on all three (-device
# tpm-crb,tpmdev=tpm0 with its default ppi=on; each QEMU has its own
# swtpm, the TPM state travels in the stream):
#   stock (until EXT A) -> patched (until EXT B) -> stock (to the end).
# Every EXT appears exactly once over the three consoles and PCR 16 ends at
# the value computed here; a marker the guest wrote into QEMU's PPI page is
# still there after the trip.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${TPMCRB_MIGRATE_EXTENDS:-60}
PATCHED=$(patched_qemu)
STOCK=$(stock_qemu)
prepare_guest
say "stock: $STOCK"
say "patched: $PATCHED"

{
    echo '[ -r /sys/class/tpm/tpm0/ppi/version ] || echo "GUEST-FAIL: no PPI"'
    # A marker in QEMU's PPI page (0xFED45000; byte 200 is the flags of PPI
    # operation 200, which no firmware defines) before the migrations, read
    # back after them: there only if the "tpm-ppi" block migrated both ways.
    echo 'busybox devmem $((0xFED45000 + 200)) 8 0x5a || echo "GUEST-FAIL: devmem"'
    extend_loop_script "$N"
    echo 'echo "PPIMARK $(busybox devmem $((0xFED45000 + 200)) 8)"'
} >"$tmp/guest.sh"
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
QEMU=$PATCHED qemu_base_args
args=("${QEMU_ARGS[@]:1}" -initrd "$tmp/initrd")
dev=tpm-crb,id=tpm0,tpmdev=tpm0

vm_start hop1 "$STOCK" "$dev" "${args[@]}"
wait_for_line "$tmp/hop1.log" "^EXT 15" 300 || { cat "$tmp/hop1.log"; fail "the loop did not start"; }
vm_migrate_out hop1 "$tmp/state1"
LAST_SRC=$LAST_EXT

vm_start hop2 "$PATCHED" "$dev" "${args[@]}" -incoming "exec:cat $tmp/state1"
after=$((LAST_EXT + 15))
wait_for_line "$tmp/hop2.log" "^EXT $after" 300 ||
    { cat "$tmp/hop2.log"; fail "stock -> patched: the loop did not go on"; }
vm_migrate_out hop2 "$tmp/state2"
[ "$LAST_EXT" -lt "$N" ] || fail "the loop ended on the patched QEMU"

vm_start hop3 "$STOCK" "$dev" "${args[@]}" -incoming "exec:cat $tmp/state2"
timeout 300 tail --pid="$VM_PID" -f /dev/null || true

logs=("$tmp/hop1.log" "$tmp/hop2.log" "$tmp/hop3.log")
check_loop_end "stock -> patched -> stock" "$N" 2 "${logs[@]}"
check_each_extend_once "$N" "${logs[@]}"
[ "$(val "$tmp/hop3.log" PPIMARK)" = 0x5A ] || fail "the PPI page did not migrate (marker $(val "$tmp/hop3.log" PPIMARK))"
say "PASS: stock -> patched (after EXT $LAST_SRC) -> stock (after EXT $LAST_EXT): $N extends, each answered once, PCR 16 = host value"
