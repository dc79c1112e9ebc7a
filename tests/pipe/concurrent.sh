#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Eight tpm2-tools loops at once on one state directory, each holding a
# policy session, a loaded sealed object and a primary key while the others
# run: far more than the TPM's three object and three session slots. The
# pipe's resource manager swaps each client's objects and sessions in and
# out around its commands (as /dev/tpmrm0 does), so every call succeeds;
# afterwards nothing is left loaded and no session is left behind.
. "$(dirname "$0")/lib.sh"

LOOPS=${LOOPS:-8} ROUNDS=${ROUNDS:-4}
RAW="cmd:$TPMCRB pipe --state $STATE --no-flush"

make_sealed sealed-secret

loop() {
    local w=$1 i d=w$1
    mkdir -p "$d"
    for i in $(seq "$ROUNDS"); do
        # One call: loads the object, starts a policy session, unseals.
        [ "$(t2 unseal -c seal.ctx -p pcr:sha256:0 2>"$d/err")" = sealed-secret ] ||
            { echo "loop $w round $i: unseal: $(cat "$d/err")"; return 1; }
        # A session kept in a file across three calls.
        t2 startauthsession --policy-session -S "$d/s.ctx" 2>"$d/err" ||
            { echo "loop $w round $i: startauthsession: $(cat "$d/err")"; return 1; }
        t2 policypcr -S "$d/s.ctx" -l sha256:0 -L "$d/p.bin" >/dev/null 2>"$d/err" ||
            { echo "loop $w round $i: policypcr: $(cat "$d/err")"; return 1; }
        cmp -s "$d/p.bin" pol.bin ||
            { echo "loop $w round $i: policy digest differs"; return 1; }
        t2 flushcontext "$d/s.ctx" 2>"$d/err" ||
            { echo "loop $w round $i: flushcontext: $(cat "$d/err")"; return 1; }
        t2 createprimary -C o -G ecc -c "$d/k.ctx" >/dev/null 2>"$d/err" ||
            { echo "loop $w round $i: createprimary: $(cat "$d/err")"; return 1; }
        t2 readpublic -c "$d/k.ctx" >/dev/null 2>"$d/err" ||
            { echo "loop $w round $i: readpublic: $(cat "$d/err")"; return 1; }
    done
}

pids=()
for w in $(seq "$LOOPS"); do
    loop "$w" > "loop$w.out" 2>&1 &
    pids+=($!)
done
failed=0
for w in $(seq "$LOOPS"); do
    wait "${pids[$((w - 1))]}" || { failed=1; echo "loop $w failed:"; cat "loop$w.out"; }
done
[ "$failed" = 0 ] || fail "concurrent loops with sessions failed (see above)"

# Nothing stays in the TPM: ask it raw, past the resource manager.
for kind in handles-transient handles-loaded-session handles-saved-session; do
    left=$(timeout "$LIMIT" tpm2 getcap -T "$RAW" "$kind") || fail "getcap $kind"
    [ -z "$left" ] || fail "$kind left in the TPM after the loops: $left"
done
# No client records of pipes that are gone.
pipes_gone "$STATE"
ls "$STATE" | grep -q '^rm-client\.' && fail "client records left: $(ls "$STATE")"
# A virtual handle this client never got is refused as the TPM would
# (TPM_RC_HANDLE for handle 1), never mapped to someone else's object.
unhex "8001 0000000e 00000173 80ffff00" | "$TPMCRB" pipe --state "$STATE" > rp.bin ||
    fail "ReadPublic of a foreign handle: the pipe failed"
[ "$(rsp_code rp.bin)" = 0000018b ] || fail "ReadPublic of a foreign handle: rc $(rsp_code rp.bin)"
echo "ok ($LOOPS loops x $ROUNDS rounds, 6 tool calls each)"
