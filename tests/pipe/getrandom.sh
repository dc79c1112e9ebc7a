#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tpm2 getrandom through `tpmcrb pipe`: fresh state directory, resumed
# state, in-memory TPM, the compat layout, another locality, --trace.
. "$(dirname "$0")/lib.sh"

t2 getrandom 16 -o r1.bin || fail "getrandom on a fresh state directory"
[ "$(stat -c %s r1.bin)" = 16 ] || fail "expected 16 random bytes"
[ -f "$STATE/tpm2-nv.state" ] || fail "no NV state file in $STATE"
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state directory is not private"

t2 getrandom 16 -o r2.bin || fail "getrandom on a resumed state"
cmp -s r1.bin r2.bin && fail "two calls returned the same random bytes"

timeout "$LIMIT" tpm2 getrandom -T "cmd:$TPMCRB pipe" 8 -o m.bin ||
    fail "getrandom on an in-memory TPM"
[ "$(stat -c %s m.bin)" = 8 ] || fail "in-memory: expected 8 bytes"

for opts in "--layout compat" "--locality 3" "--layout compat --locality 4"; do
    timeout "$LIMIT" tpm2 getrandom -T "cmd:$TPMCRB pipe --state $STATE $opts" \
        8 -o o.bin || fail "getrandom with $opts"
done

timeout "$LIMIT" tpm2 getrandom -T "cmd:$TPMCRB pipe --state $STATE --trace" \
    8 -o t.bin 2> trace.txt || fail "getrandom with --trace"
grep -q "TPM2_GetRandom" trace.txt || fail "--trace did not decode the command"
echo "ok"
