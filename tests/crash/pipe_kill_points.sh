#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb pipe` killed at every point of its client's work in turn: right
# after the Nth write of the state store (one per TPM command, the
# client's and the resource manager's own context saves, loads and
# flushes), through an LD_PRELOAD shim. The client starts an HMAC and a
# policy session and a hash sequence (an object), saves the HMAC session
# itself (TPM2_ContextSave, as tpm2-tools does for a session file) and
# reads random bytes; it keeps everything else with the pipe, which
# flushes it at its end. After each death the next managed command flushes
# whatever the dead pipe held, in whatever state it was (loaded,
# context-saved by the resource manager, not yet recorded, saved by the
# client in a response it never got): no object and no session is left in
# the TPM but the one the client received a context for, and no client
# record is left in the directory.
# usage: pipe_kill_points.sh FAULT-SHIM.so
. "$(dirname "$0")/../pipe/lib.sh"
SHIM=$1
[ -f "$SHIM" ] || fail "no fault shim at $SHIM"
# A sanitizer's runtime must come first in LD_PRELOAD (sanitizer builds).
PRELOAD="$(ldd "$TPMCRB" | awk '/lib(asan|tsan|ubsan)\.so/ { printf "%s ", $3 }')$SHIM"
RAW="cmd:$TPMCRB pipe --state $STATE --no-flush"

# TPM2_StartAuthSession(tpmKey, bind: TPM_RH_NULL; 32-byte nonce; no salt;
# type $1: 00 HMAC, 01 policy; symmetric: TPM_ALG_NULL; SHA-256).
start_session() {
    unhex "8001 0000003b 00000176 40000007 40000007 0020" \
          "$(printf '5a%.0s' $(seq 32)) 0000 $1 0010 000b"
}
{
    start_session 00
    start_session 01
    unhex "8001 0000000e 00000186 0000 000b" # HashSequenceStart(SHA-256)
    unhex "8001 0000000e 00000162 02000000"  # ContextSave(the HMAC session)
    unhex "8001 0000000c 0000017b 0008"      # GetRandom(8)
} > client.bin
# Responses: two sessions (handle, 32-byte nonce), a handle, the context.
BEFORE_SAVE=$((2 * 48 + 14))
unhex "8001 0000000e 00000165 02000000" > flush.bin  # FlushContext(it)
unhex "8001 0000000c 0000017b 0008" > getrandom.bin

t2 getrandom 4 >/dev/null || fail "first start"

# Whatever a pipe left in the TPM, asked raw (past the resource manager).
leftovers() {
    local kind left out=
    for kind in handles-transient handles-loaded-session handles-saved-session; do
        left=$(timeout "$LIMIT" tpm2 getcap -T "$RAW" "$kind") || fail "getcap $kind"
        [ -z "$left" ] || out+="$kind: $(echo $left) "
    done
    ls "$STATE" | grep -q '^rm-client\.' && out+="client records: $(ls "$STATE" | grep '^rm-client\.' | tr '\n' ' ')"
    printf '%s' "$out"
}

# The client flushes the session it saved, with the handle it got.
flush_saved() {
    timeout "$LIMIT" "$TPMCRB" pipe --state "$STATE" < flush.bin > flushed.bin ||
        fail "FlushContext of the client's session"
    [ "$(rsp_code flushed.bin)" = 00000000 ] ||
        fail "FlushContext of the client's session: rc $(rsp_code flushed.bin)"
}

kills=0 past_save=0
for at in $(seq 1 60); do
    rm -f fault.log
    status=0
    env TPMCRB_FAULT_OP=write TPMCRB_FAULT_KILL=1 TPMCRB_FAULT_AT="$at" \
        TPMCRB_FAULT_LOG="$WORK/fault.log" LD_PRELOAD="$PRELOAD" \
        timeout "$LIMIT" "$TPMCRB" pipe --state "$STATE" < client.bin > rsp.bin \
        2>pipe.err || status=$?
    if [ ! -s fault.log ]; then
        # Past the last write: the pipe ran to its end and flushed it all.
        [ "$status" = 0 ] || fail "the pipe failed without a kill: $(cat pipe.err)"
        [ "$(stat -c %s rsp.bin)" -gt $((BEFORE_SAVE + 20)) ] ||
            fail "responses of $(stat -c %s rsp.bin) bytes: $(od -An -tx1 rsp.bin)"
        [ "$(rsp_code rsp.bin "$BEFORE_SAVE")" = 00000000 ] ||
            fail "ContextSave: rc $(rsp_code rsp.bin "$BEFORE_SAVE")"
        left=$(leftovers)
        [ "$left" = "handles-saved-session: - 0x2000000 " ] ||
            fail "after a pipe that ended normally: '$left' instead of the client's saved session"
        flush_saved
        left=$(leftovers)
        [ -z "$left" ] || fail "left after a pipe that ended normally: $left"
        break
    fi
    [ "$status" = 137 ] || fail "kill #$at did not kill the pipe (status $status): $(cat pipe.err)"
    kills=$((kills + 1))
    # The next managed command cleans up after the dead pipe.
    timeout "$LIMIT" "$TPMCRB" pipe --state "$STATE" < getrandom.bin \
        > after.bin 2>after.err || fail "the pipe after kill #$at failed: $(cat after.err)"
    [ "$(rsp_code after.bin)" = 00000000 ] ||
        fail "GetRandom after kill #$at: rc $(rsp_code after.bin) $(cat after.err)"
    left=$(leftovers)
    if [ "$(stat -c %s rsp.bin)" -gt "$BEFORE_SAVE" ]; then
        # The client got its session's context: that session is its own.
        [ "$left" = "handles-saved-session: - 0x2000000 " ] ||
            fail "after kill #$at, past the client's ContextSave: '$left' instead of its saved session"
        flush_saved
        left=$(leftovers)
        past_save=$((past_save + 1))
    fi
    [ -z "$left" ] || fail "left by the pipe killed after write #$at ($(cat fault.log)): $left"
done
[ "$kills" -ge 8 ] || fail "only $kills kill points (expected the client's commands and the manager's saves, loads and flushes)"
[ "$past_save" -ge 1 ] || fail "no kill after the client got its saved session"
echo "ok ($kills kill points, $past_save after the client's ContextSave)"
