#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Raw framing on stdin: a size field below 10 ends the stream with
# TPM_RC_COMMAND_SIZE (no way to find the next command); an oversized
# command is answered with TPM_RC_COMMAND_SIZE, skipped, and the next one
# runs; EOF in the middle of a command is reported.
. "$(dirname "$0")/lib.sh"

GETRANDOM="8001 0000000c 0000017b 0008"

unhex "8001 00000005 0000017b" > small.in
status=0
timeout "$LIMIT" "$TPMCRB" pipe < small.in > small.out 2> small.err || status=$?
[ "$status" = 1 ] || fail "size 5: exit status $status, expected 1"
[ "$(rsp_code small.out)" = 00000142 ] || fail "size 5: rc $(rsp_code small.out)"

{ unhex "8001 00001388 0000017b"; head -c 4990 /dev/zero; unhex "$GETRANDOM"; } > big.in
timeout "$LIMIT" "$TPMCRB" pipe < big.in > big.out 2> big.err ||
    fail "oversized command ended the pipe: $(cat big.err)"
[ "$(rsp_code big.out)" = 00000142 ] || fail "size 5000: rc $(rsp_code big.out)"
[ "$(stat -c %s big.out)" = $((10 + 10 + 2 + 8)) ] || fail "no GetRandom answer after the oversized command"
[ "$(rsp_code big.out 10)" = 00000000 ] || fail "GetRandom after oversize: rc $(rsp_code big.out 10)"

{ unhex "$GETRANDOM"; unhex "8001 0000000c 0000"; } > cut.in
status=0
timeout "$LIMIT" "$TPMCRB" pipe < cut.in > cut.out 2> cut.err || status=$?
[ "$status" = 1 ] || fail "input cut inside a command: exit status $status, expected 1"
[ "$(stat -c %s cut.out)" = 20 ] || fail "the complete command was not answered"
grep -q "middle of a command" cut.err || fail "a truncated command was not reported"

"$TPMCRB" pipe --layout bogus < /dev/null 2>/dev/null && fail "bad --layout accepted"
status=0
"$TPMCRB" pipe --locality 7 < /dev/null 2>/dev/null || status=$?
[ "$status" = 2 ] || fail "bad --locality: exit status $status, expected 2"
echo "ok"
