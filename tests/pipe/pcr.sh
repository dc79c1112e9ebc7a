#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# PCR 16 extended in one call, read in another, checked against
# new = sha256(old || digest) computed here; PCRs are volatile, so a
# --power-cycle start resets them.
. "$(dirname "$0")/lib.sh"

t2 pcrread sha256:16 -o old.bin >/dev/null || fail "first pcrread"
digest=$(printf 'tpmcrb pipe test' | sha256_hex)
t2 pcrextend "16:sha256=$digest" || fail "pcrextend"
t2 pcrread sha256:16 -o new.bin >/dev/null || fail "pcrread after extend"

expected=$( { cat old.bin; unhex "$digest"; } | sha256_hex)
[ "$(hex new.bin)" = "$expected" ] ||
    fail "PCR 16 is $(hex new.bin), expected sha256(old || digest) = $expected"

# Twice more, across separate processes.
t2 pcrextend "16:sha256=$digest" || fail "second pcrextend"
expected=$( { unhex "$expected"; unhex "$digest"; } | sha256_hex)
t2 pcrread sha256:16 -o new2.bin >/dev/null || fail "pcrread"
[ "$(hex new2.bin)" = "$expected" ] || fail "PCR 16 after two extends: $(hex new2.bin) != $expected"

timeout "$LIMIT" tpm2 pcrread -T "cmd:$TPMCRB pipe --state $STATE --power-cycle" \
    sha256:16 -o reset.bin >/dev/null || fail "pcrread with --power-cycle"
[ "$(hex reset.bin)" = "$(printf '0%.0s' $(seq 64))" ] ||
    fail "PCR 16 not reset by --power-cycle: $(hex reset.bin)"
echo "ok"
