#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb vm --device qemu`: the same guest through the tool, on the patched
# QEMU in trap mode (default start method 7), twice with one --state
# directory: an NV index written in the first run is read in the second.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TPMCRB=${TPMCRB:?the tpmcrb binary (set by meson test)}
export TPMCRB_QEMU_PATCHED=${TPMCRB_QEMU_PATCHED:-$(patched_qemu)}

cat >"$tmp/run1.sh" <<'EOF'
tpm2_getrandom --hex 16 || exit 1
echo
printf 'tpmcrb-vm' > /tmp/nv
tpm2_nvdefine 0x1500017 -C o -s 9 -a "ownerread|ownerwrite" || exit 1
tpm2_nvwrite 0x1500017 -C o -i /tmp/nv || exit 1
tpmloop -n 1000 /dev/tpm0 || exit 1
EOF
cat >"$tmp/run2.sh" <<'EOF'
echo "NVREAD $(tpm2_nvread 0x1500017 -C o -s 9)"
tpm2_nvundefine 0x1500017 -C o || exit 1
EOF

say "run 1"
"$TPMCRB" vm --device qemu --state "$tmp/state" --guest-script "$tmp/run1.sh" \
    </dev/null >"$tmp/run1.log" 2>&1 || { cat "$tmp/run1.log"; fail "run 1"; }
grep -a TPMLOOP "$tmp/run1.log"
say "run 2"
"$TPMCRB" vm --device qemu --state "$tmp/state" --guest-script "$tmp/run2.sh" \
    </dev/null >"$tmp/run2.log" 2>&1 || { cat "$tmp/run2.log"; fail "run 2"; }
grep -aq '^NVREAD tpmcrb-vm' "$tmp/run2.log" || { cat "$tmp/run2.log"; fail "NV did not persist"; }
say "PASS: tpmcrb vm --device qemu, NV persists across runs"
