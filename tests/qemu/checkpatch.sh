#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# QEMU's own style checker, scripts/checkpatch.pl of the QEMU 10 source the
# series applies to, on every patch in integrations/qemu/patches: no error
# and no warning but "Does new file ... need SPDX" for the expected ACPI
# tables in tests/data/acpi/. The one thing it is told to skip (--no-signoff) is the
# Signed-off-by line, which a human submitter adds (see the integration
# README). The source is the one build-qemu unpacked beside its build.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v perl >/dev/null || fail "perl is not installed"
qemu_src=$(cd "$(dirname "$(patched_qemu)")/../src" 2>/dev/null && pwd) ||
    fail "no QEMU source beside the patched build"
[ -f "$qemu_src/scripts/checkpatch.pl" ] || fail "no scripts/checkpatch.pl in $qemu_src"

n=0
for p in "$src"/integrations/qemu/patches/*.patch; do
    out=$(cd "$qemu_src" && perl scripts/checkpatch.pl --no-signoff "$p" 2>&1) || true
    # The one warning allowed: a new expected ACPI table (a binary blob in
    # tests/data/acpi/, empty in the first of QEMU's three steps) cannot
    # carry an SPDX line; QEMU's own expected-table patches get it too.
    blobs=$(grep -c "^WARNING: Does new file 'tests/data/acpi/.*' need 'SPDX-License-Identifier'?" <<<"$out" || true)
    if ! grep -q "^total: 0 errors, $blobs warnings" <<<"$out"; then
        echo "$out"
        fail "checkpatch: $(basename "$p")"
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no patches in integrations/qemu/patches"
say "PASS: checkpatch.pl of QEMU 10: $n patches, 0 errors, 0 warnings"
