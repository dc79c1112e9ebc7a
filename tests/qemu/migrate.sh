#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Device state across migration and savevm/loadvm, in the middle of a guest
# command loop. The guest extends PCR 16 with the digests 1..N, one
# tpm2_pcrextend each, while a second loop hammers /dev/tpmrm0 with
# TPM2_GetRandom (so that a command is often in flight) and checks every
# response.
#   A. migration to a file (exec:), restored by a second QEMU process with
#      -incoming: every EXT line appears exactly once across both consoles,
#      and PCR 16 equals the value computed here, so no extend was lost or
#      run twice;
#   B. savevm, more extends, loadvm: the guest and its TPM go back together
#      (PCR 16 again ends at the host's value).
#   C. A between two patched QEMUs with the opt-in configuration
#      layout=split,localities=5,start-method=8 (its stream carries the
#      library's device state as the fields of a subsection, which stock
#      QEMU does not accept).
# A command in flight when the VM stops may time out in the guest's driver
# after the restore (its clock jumps; see check_loop_end in lib.sh): one
# per restore is allowed, the PCR chain is always required. tpmcrb meets
# it only when the command outlived sync-bound-us. Each QEMU has its own
# swtpm; the TPM's state travels in the stream (-tpmdev emulator's own).
#   migrate.sh migration|savevm|split   (A, B or C: a test each)
set -euo pipefail
part=${1:-}
case $part in
migration | savevm | split) ;;
*) echo "usage: $0 migration|savevm|split" >&2; exit 2 ;;
esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${TPMCRB_MIGRATE_EXTENDS:-60}
QEMU=$(patched_qemu)
prepare_guest

extend_loop_script "$N" >"$tmp/guest.sh"
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
qemu_base_args
vm=("${QEMU_ARGS[@]}" -initrd "$tmp/initrd")
dev=tpm-crb,id=tpm0,tpmdev=tpm0
[ "$part" != split ] || dev=$dev,layout=split,localities=5,start-method=8,ppi=off

# ---------------------------------------------------------- A. migration
if [ "$part" != savevm ]; then
    label=A
    [ "$part" = migration ] || label="C ($dev)"
    say "$label: migration to a file in the middle of the loop"
    migrate_mid_loop 20 300 "$dev" "${vm[@]}"
    check_loop_end "migration" "$N" 1 "$tmp/src.log" "$tmp/dst.log"
    check_each_extend_once "$N"
    if [ "$part" = split ]; then
        # The device state as VMState fields (named in the stream's JSON
        # description), not one opaque blob.
        grep -q "tpm-crb/libtpmcrb-state" "$tmp/vmstate" ||
            fail "the opt-in layout's stream has no tpm-crb/libtpmcrb-state subsection"
        for field in state.loc_int_enable state.loc_cmd_addr state.cmd_held; do
            grep -q "\"$field\"" "$tmp/vmstate" ||
                fail "the stream's description has no field $field"
        done
        ! grep -q "libtpmcrb-snapshot" "$tmp/vmstate" ||
            fail "the opt-in layout's stream still has the snapshot blob"
    fi
    say "$label: PASS: $N extends, each answered once (source 1..$LAST_SRC), PCR 16 = host value"
    exit 0
fi

# ---------------------------------------------------------- B. savevm/loadvm
command -v qemu-img >/dev/null || skip "qemu-img (qemu-utils) is needed for savevm"
say "B: savevm, more commands, loadvm"
qemu-img create -q -f qcow2 "$tmp/snap.qcow2" 16M
vm_start b "${vm[0]}" "$dev" "${vm[@]:1}" \
    -drive "if=none,id=snap,format=qcow2,file=$tmp/snap.qcow2"
b_pid=$VM_PID
wait_for_line "$tmp/b.log" "^EXT 15" 300 || { cat "$tmp/b.log"; fail "the loop did not start"; }
qmp "$tmp/b.qmp" "hmp:savevm s1" >/dev/null
saved=$(sed -n 's/^EXT \([0-9]*\).*/\1/p' "$tmp/b.log" | tail -n 1)
wait_for_line "$tmp/b.log" "^EXT $((saved + 15))" 300 || fail "the loop stopped after savevm"
qmp "$tmp/b.qmp" "hmp:loadvm s1" >/dev/null
say "saved at EXT $saved, loaded after EXT $((saved + 15))"
timeout 300 tail --pid="$b_pid" -f /dev/null || true
check_loop_end "savevm/loadvm" "$N" 1 "$tmp/b.log"
say "B: PASS: loadvm took guest and TPM back together; PCR 16 = host value"
