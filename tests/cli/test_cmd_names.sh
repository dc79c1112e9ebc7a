#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_cmd_names.sh CMD_NAME: every TPM 2.0 command code that tpm2-tss knows
# (its tss2_tpm2_types.h, an independent list) has the same name in the
# traces, and a code that is no command has none.
set -uo pipefail
prog=$1
hdr=/usr/include/tss2/tss2_tpm2_types.h
[ -r "$hdr" ] || { echo "SKIP: $hdr missing (libtss2-dev; scripts/deps.sh installs it)"; exit 77; }
fail=0 n=0
while read -r name code; do
    got=$("$prog" "$code" | cut -d' ' -f2)
    n=$((n + 1))
    if [ "$got" != "TPM2_$name" ]; then
        echo "FAIL: $code is '$got', tpm2-tss calls it TPM2_$name"; fail=1
    fi
done < <(sed -n 's/^#define TPM2_CC_\([A-Za-z0-9_]*\) *((TPM2_CC) *\(0x[0-9a-fA-F]*\)).*/\1 \2/p' "$hdr" |
         grep -v '^\(FIRST\|LAST\) ')
[ "$n" -ge 100 ] || { echo "FAIL: only $n command codes read from $hdr"; fail=1; }
for code in 0x0 0x11e 0x1ff 0x20000001; do
    got=$("$prog" "$code" | cut -d' ' -f2)
    [ "$got" = "-" ] || { echo "FAIL: $code is no command but is named '$got'"; fail=1; }
done
[ $fail = 0 ] && echo "command names: $n codes of tpm2-tss named alike"
exit $fail
