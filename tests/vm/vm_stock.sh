#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The comparison path: the same guest and checks on QEMU's own tpm-crb with
# an swtpm child (`tpmcrb vm --device qemu-stock`, used by `bench vm`).
. "$(dirname "$0")/lib.sh"
require_qemu
command -v swtpm >/dev/null || skip "swtpm is not installed (scripts/deps.sh installs it)"
make_workdir

script=$(guest_script stock.sh "DIGEST=$TEST_DIGEST")
run_vm "$WORK/console" "$script" --device qemu-stock || fail "the guest script failed"
check_common "$WORK/console" || fail "checks on QEMU's tpm-crb"
check_no_leftovers || fail "cleanup"
echo "PASS: vm stock"
