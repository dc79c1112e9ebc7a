#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Migration of the arm64 guest with -device tpm-crb-device (swtpm behind -tpmdev) on the virt machine, in
# the middle of a command loop: the guest extends PCR 16 with the digests
# 1..N while a second loop keeps /dev/tpmrm0 busy; QEMU migrates to a file
# and a second QEMU (same command line: the platform bus gives the device
# the same address) continues from it. Every EXT line appears once across
# both consoles and PCR 16 equals the value computed here. (savevm is
# covered on x86: on virt it would need the variable store in qcow2.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${TPMCRB_MIGRATE_EXTENDS:-40}
require_aavmf
QEMU=$(patched_qemu_aarch64)
prepare_guest_arm64

extend_loop_script "$N" >"$tmp/guest.sh"
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
arm64_qemu_args "$QEMU"
vm=("${QEMU_ARGS[@]}" -initrd "$tmp/initrd")

say "migration to a file in the middle of the loop"
migrate_mid_loop 10 600 tpm-crb-device,id=tpm0,tpmdev=tpm0 "${vm[@]}"
check_loop_end "migration" "$N" 1 "$tmp/src.log" "$tmp/dst.log"
check_each_extend_once "$N"
say "PASS: $N extends, each answered once (source 1..$LAST_SRC), PCR 16 = host value"
