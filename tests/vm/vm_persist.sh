#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Persistence: an NV index written in a first boot is read back in a second
# boot with the same --state, while PCRs start fresh at each boot.
. "$(dirname "$0")/lib.sh"
require_qemu
make_workdir
state=$WORK/state
index=0x1500016
secret=tpmcrb-persists

boot1=$(guest_script boot1.sh "DIGEST=$TEST_DIGEST")
cat >> "$boot1" <<GUEST
tpm2 nvdefine $index -C o -s 32 -a "ownerread|ownerwrite|authread|authwrite" ||
    fail "tpm2 nvdefine"
printf '%s' "$secret" | tpm2 nvwrite $index -C o -i - || fail "tpm2 nvwrite"
echo "NV-WRITTEN"
GUEST
boot2=$(guest_script boot2.sh "DIGEST=$TEST_DIGEST")
cat >> "$boot2" <<GUEST
echo "NV=\$(tpm2 nvread $index -C o -s ${#secret})"
GUEST

run_vm "$WORK/console1" "$boot1" --state "$state" || fail "first boot"
check_common "$WORK/console1" || fail "first boot checks"
grep -aq '^NV-WRITTEN' "$WORK/console1" || fail "NV index not written"
run_vm "$WORK/console2" "$boot2" --state "$state" || fail "second boot"
# The same PCR value again: the second boot is a fresh TPM power-on.
check_common "$WORK/console2" || fail "second boot checks"
nv=$(value NV "$WORK/console2")
[ "$nv" = "$secret" ] || fail "NV index read back as '$nv', wrote '$secret'"
check_no_leftovers || fail "cleanup"
echo "PASS: vm persist (NV $index = $nv)"
