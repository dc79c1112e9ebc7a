#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A client that saves a session itself (TPM2_ContextSave, as tpm2-tools
# does for a session file) but goes away before it reads the response never
# got the context: nobody can load or flush that session any more, so the
# pipe flushes it with the rest of the client's resources. A client that
# did read the response owns the saved session; the pipe leaves it alone.
. "$(dirname "$0")/lib.sh"

RAW="cmd:$TPMCRB pipe --state $STATE --no-flush"
# StartAuthSession (HMAC, unbound, unsalted, SHA-256), then ContextSave of
# that session (the first session of an empty TPM: 0x02000000).
unhex "8001 0000003b 00000176 40000007 40000007 0020" \
      "$(printf '5a%.0s' $(seq 32)) 0000 00 0010 000b" > start.bin
unhex "8001 0000000e 00000162 02000000" > save.bin
unhex "8001 0000000e 00000165 02000000" > flush.bin

sessions() {
    local kind out=
    for kind in handles-loaded-session handles-saved-session; do
        out+="$(timeout "$LIMIT" tpm2 getcap -T "$RAW" "$kind" | tr -d '\n')"
    done || fail "getcap"
    printf '%s' "$out"
}

t2 getrandom 4 >/dev/null || fail "first start"

# The client reads the StartAuthSession response, then closes its end
# before it sends the ContextSave: the pipe's response finds no reader.
mkfifo to-pipe from-pipe
"$TPMCRB" pipe --state "$STATE" < to-pipe > from-pipe 2>pipe.err &
PIPE=$!
exec 3> to-pipe 4< from-pipe
cat start.bin >&3
head -c 48 <&4 > started.bin
[ "$(rsp_code started.bin)" = 00000000 ] || fail "StartAuthSession: rc $(rsp_code started.bin)"
exec 4<&-
cat save.bin >&3
exec 3>&-
wait "$PIPE" || fail "the pipe failed when its client went away: $(cat pipe.err)"
left=$(sessions)
[ -z "$left" ] || fail "the session saved in a response nobody read is still in the TPM: $left"

# The same with a client that reads the context: the session is its own.
cat start.bin save.bin | timeout "$LIMIT" "$TPMCRB" pipe --state "$STATE" > rsp.bin ||
    fail "StartAuthSession + ContextSave"
[ "$(rsp_code rsp.bin 48)" = 00000000 ] || fail "ContextSave: rc $(rsp_code rsp.bin 48)"
left=$(sessions)
[ "$left" = "- 0x2000000" ] || fail "the client's saved session: '$left' instead of 0x2000000"
timeout "$LIMIT" "$TPMCRB" pipe --state "$STATE" < flush.bin > flushed.bin ||
    fail "FlushContext"
[ "$(rsp_code flushed.bin)" = 00000000 ] || fail "FlushContext: rc $(rsp_code flushed.bin)"
[ -z "$(sessions)" ] || fail "sessions left after FlushContext: $(sessions)"
echo "ok"
