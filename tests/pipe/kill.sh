#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# SIGKILL of `tpmcrb pipe` in the middle of its client's commands, 40
# times, while the client holds a policy session and a loaded object (an
# unseal) or increments an NV counter. A dead pipe's sessions and objects
# are flushed by the next pipe, so afterwards every tool still works —
# including the ones that start sessions, which used to fail with
# TPM_RC_SESSION_MEMORY — and the counter holds at least every increment
# that was acknowledged.
. "$(dirname "$0")/lib.sh"

KILLS=${KILLS:-40}
RAW="cmd:$TPMCRB pipe --state $STATE --no-flush"
CTR=0x1500019

# A kill between the NV and the volatile write is a power loss for the TPM,
# and a TPM2_Startup after a power loss once a DA-protected object (the
# sealed one) was used counts as a failed authorization: with the default
# three tries, three such kills locked the TPM out (TPM_RC_LOCKOUT) for
# what this test looks at. Recovery time 0 turns the DA logic off.
t2 dictionarylockout --setup-parameters --max-tries=3 --recovery-time=0 \
    --lockout-recovery-time=0 || fail "dictionarylockout"
t2 nvdefine "$CTR" -C o -s 8 -a "ownerread|ownerwrite|nt=counter" >/dev/null ||
    fail "nvdefine counter"
t2 nvincrement "$CTR" -C o || fail "first nvincrement"
make_sealed sealed

# Load the sealed object into @ctx under a new primary. A kill between the
# NV and the volatile write is a power loss for the TPM (TPM2_Startup(CLEAR)
# follows), which invalidates every saved context, as on real hardware.
load_sealed() {
    t2 createprimary -C o -G ecc -c "$1.prim" >/dev/null &&
    t2 load -C "$1.prim" -u seal.pub -r seal.priv -c "$1" >/dev/null
}

# The client loop: every acknowledged increment is counted in acked.txt.
: > acked.txt
( while [ ! -e stop ]; do
      t2 unseal -c seal.ctx -p pcr:sha256:0 >/dev/null 2>>client.err ||
          load_sealed seal.ctx 2>>client.err || true
      if t2 nvincrement "$CTR" -C o 2>>client.err; then echo x >> acked.txt; fi
  done ) &
CLIENT=$!

# The pipes of this test's state directory (its path is unique).
pipe_pids() { pgrep -f -- "^$TPMCRB pipe --state $STATE\$" || true; }

landed=0 attempts=0
# A pipe may end by itself between being found and the kill: count only
# kills that found it alive, and go on until KILLS have.
while [ "$landed" -lt "$KILLS" ] && [ "$attempts" -lt $((KILLS * 5)) ]; do
    attempts=$((attempts + 1))
    for try in $(seq 200); do
        pids=$(pipe_pids)
        [ -n "$pids" ] && break
        sleep 0.01
    done
    [ -n "$pids" ] || fail "no pipe process to kill (attempt $attempts): $(tail -5 client.err)"
    # A moment into the pipe's life: inside one of its commands.
    sleep "0.0$((RANDOM % 10))"
    for pid in $pids; do
        kill -KILL "$pid" 2>/dev/null && landed=$((landed + 1))
    done
done
touch stop
wait "$CLIENT" || true
[ "$landed" -ge "$KILLS" ] || fail "only $landed of $KILLS kills found a live pipe"

acked=$(($(wc -l < acked.txt) + 1))
# Every tool still works, those starting sessions above all.
load_sealed after.ctx || fail "loading the sealed object after the kills"
for i in 1 2 3 4 5; do
    [ "$(t2 unseal -c after.ctx -p pcr:sha256:0)" = sealed ] ||
        fail "unseal #$i after the kills"
    t2 startauthsession --policy-session -S "s$i.ctx" || fail "startauthsession #$i after the kills"
    t2 createprimary -C o -G ecc -c "p$i.ctx" >/dev/null || fail "createprimary #$i after the kills"
done
for i in 1 2 3 4 5; do
    t2 flushcontext "s$i.ctx" || fail "flushcontext #$i"
done
t2 nvread "$CTR" -C o -s 8 -o ctr.bin || fail "nvread after the kills"
value=$((16#$(hex ctr.bin)))
[ "$value" -ge "$acked" ] ||
    fail "counter $value < $acked acknowledged increments"
# What the dead pipes held is gone: nothing loaded, no session left.
for kind in handles-transient handles-loaded-session handles-saved-session; do
    left=$(timeout "$LIMIT" tpm2 getcap -T "$RAW" "$kind") || fail "getcap $kind"
    [ -z "$left" ] || fail "$kind left in the TPM after the kills: $left"
done
echo "ok ($landed kills, $(grep -c 'power loss' client.err || true) of them between" \
     "the NV and the volatile write; counter $value >= $acked acknowledged)"
