#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Several `pipe` processes on one state directory at once: shell pipelines
# of two tools (each starts its pipe before the other finishes), and
# parallel loops. Commands are serialised per command, so nothing
# deadlocks (time-bounded) and nothing is lost.
. "$(dirname "$0")/lib.sh"

t2 getrandom 4 >/dev/null || fail "initial getrandom"

t2 getrandom 32 | tee rnd.bin | t2 hash -g sha256 -o h.bin ||
    fail "getrandom | hash pipeline"
[ "$(stat -c %s rnd.bin)" = 32 ] || fail "pipeline: getrandom wrote $(stat -c %s rnd.bin) bytes"
[ "$(hex h.bin)" = "$(sha256_hex rnd.bin)" ] || fail "pipeline: hash of the random bytes is wrong"

t2 createprimary -C o -c prim.ctx >/dev/null || fail "createprimary"
t2 create -C prim.ctx -G aes128cfb -u key.pub -r key.priv >/dev/null || fail "create"
t2 load -C prim.ctx -u key.pub -r key.priv -c key.ctx >/dev/null || fail "load"
head -c 3000 /dev/urandom > plain.bin
t2 encryptdecrypt -c key.ctx plain.bin 2>/dev/null |
    t2 encryptdecrypt -c key.ctx -d -o out.bin 2>/dev/null ||
    fail "encryptdecrypt | encryptdecrypt pipeline"
cmp -s plain.bin out.bin || fail "encrypt | decrypt did not round-trip"

# Parallel loops that update shared state: an NV counter and PCR 16. A
# process working from a stale copy would lose updates of the others.
CTR=0x1500018
t2 nvdefine "$CTR" -C o -s 8 -a "ownerread|ownerwrite|nt=counter" >/dev/null ||
    fail "nvdefine counter"
t2 nvincrement "$CTR" -C o || fail "first nvincrement"
t2 pcrread sha256:16 -o pcr0.bin >/dev/null || fail "pcrread"
digest=$(printf 'parallel' | sha256_hex)
# Two at a time, as in a shell pipeline (concurrent.sh runs eight loops
# that hold sessions and objects).
LOOPS=2 ROUNDS=6
for j in $(seq $LOOPS); do
    ( for i in $(seq $ROUNDS); do
          t2 nvincrement "$CTR" -C o || exit 1
          t2 pcrextend "16:sha256=$digest" || exit 1
          t2 getrandom 8 >/dev/null || exit 1
      done ) &
done
for j in $(seq $LOOPS); do
    wait -n || fail "a parallel loop failed"
done

t2 nvread "$CTR" -C o -s 8 -o ctr.bin || fail "nvread counter"
[ $((16#$(hex ctr.bin))) = $((LOOPS * ROUNDS + 1)) ] ||
    fail "counter is $((16#$(hex ctr.bin))), expected $((LOOPS * ROUNDS + 1)): updates were lost"
expected=$(hex pcr0.bin)
for i in $(seq $((LOOPS * ROUNDS))); do
    expected=$( { unhex "$expected"; unhex "$digest"; } | sha256_hex)
done
t2 pcrread sha256:16 -o pcr1.bin >/dev/null || fail "pcrread"
[ "$(hex pcr1.bin)" = "$expected" ] || fail "PCR 16 lost some of the $((LOOPS * ROUNDS)) parallel extends"
echo "ok"
