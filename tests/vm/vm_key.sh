#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb vm --key` with the stock device: swtpm gets the key (with the
# mode for its length), the guest's NV write lands encrypted in swtpm's
# files, and `tpmcrb state import-swtpm` with the same key brings the TPM
# over to tpmcrb with the guest's NV index intact (and sealed by --key).
. "$(dirname "$0")/lib.sh"
require_qemu
command -v swtpm >/dev/null || skip "swtpm is not installed (scripts/deps.sh installs it)"
command -v tpm2 >/dev/null || skip "tpm2-tools is not installed"
make_workdir

index=0x1500018
secret=sealed-by-the-guest-0123
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "$WORK/key.hex"
state=$WORK/state
script=$(guest_script key.sh "DIGEST=$TEST_DIGEST")
cat >> "$script" <<GUEST
tpm2 nvdefine $index -C o -s ${#secret} -a "ownerread|ownerwrite" || fail "tpm2 nvdefine"
printf '%s' "$secret" | tpm2 nvwrite $index -C o -i - || fail "tpm2 nvwrite"
echo "NV-WRITTEN"
GUEST
run_vm "$WORK/console" "$script" --device qemu-stock --state "$state" \
    --key "file=$WORK/key.hex" || fail "the guest script failed"
check_common "$WORK/console" || fail "checks on QEMU's tpm-crb"
grep -aq '^NV-WRITTEN' "$WORK/console" || fail "NV index not written"

# swtpm's header says encrypted with a 256-bit key (flags 0x0009).
[ "$(od -An -tx1 -j4 -N2 "$state/tpm2-00.permall" | tr -d ' ')" = 0009 ] ||
    fail "swtpm's state is not encrypted with a 256-bit key"
grep -aq "$secret" "$state"/* && fail "the guest's NV contents are in the clear"

"$TPMCRB" state import-swtpm --from "$state" --state "$WORK/tc" --key "file=$WORK/key.hex" ||
    fail "import of the guest's TPM"
grep -aqr "$secret" "$WORK/tc" && fail "NV contents in the clear after the import"
timeout 60 tpm2 nvread -T "cmd:$TPMCRB pipe --state $WORK/tc --key file=$WORK/key.hex" \
    -C o -o "$WORK/nv.bin" "$index" 2>/dev/null || fail "nvread after the import"
[ "$(cat "$WORK/nv.bin")" = "$secret" ] || fail "NV read back as '$(cat "$WORK/nv.bin")'"
check_no_leftovers || fail "cleanup"
echo "PASS: vm key (swtpm encrypted the guest's NV; imported with the key)"
