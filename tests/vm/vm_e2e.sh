#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A Linux guest on tpmcrb (shared-memory device, start method 8): tpm_crb
# binds a TPM 2.0, /dev/tpm0 and /dev/tpmrm0 work, PCR 23 extends to the
# value computed here, an RSA-2048 primary key (a command that takes long)
# is created, and nothing is left behind afterwards.
. "$(dirname "$0")/lib.sh"
require_qemu
make_workdir

script=$(guest_script e2e.sh "DIGEST=$TEST_DIGEST")
cat >> "$script" <<'GUEST'
tpm2 createprimary -C o -G rsa2048 -c /tmp/primary.ctx > /tmp/primary.out ||
    fail "tpm2 createprimary -G rsa2048"
grep -q 'rsa' /tmp/primary.out || fail "createprimary printed no RSA key"
echo "RSA-OK"
GUEST

run_vm "$WORK/console" "$script" || fail "the guest script failed"
check_common "$WORK/console" || fail "end-to-end checks"
grep -aq '^RSA-OK' "$WORK/console" || fail "RSA key creation"
check_no_leftovers || fail "cleanup"
echo "PASS: vm e2e (PCR 23 = $(value PCR23 "$WORK/console"))"
