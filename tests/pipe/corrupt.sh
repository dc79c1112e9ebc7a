#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A corrupt or truncated state file is an error that names the file, and
# the file is left exactly as it was.
. "$(dirname "$0")/lib.sh"

t2 getrandom 8 >/dev/null || fail "creating the state"
t2 getrandom 8 >/dev/null || fail "second call (fills both volatile slots)"
NV=$STATE/tpm2-nv.state

# Replace the byte at @offset of @file with a different value.
corrupt() {
    local old new
    old=$(od -An -tx1 -j "$2" -N1 "$1" | tr -d ' ')
    new=$([ "$old" = 00 ] && echo 01 || echo 00)
    unhex "$new" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# The pipe must refuse to start, name @file, and leave it untouched.
expect_refused() {
    local file=$1 before
    before=$(sha256_hex "$file")
    if t2 getrandom 8 > /dev/null 2> err.txt; then
        fail "getrandom succeeded on a corrupt $file"
    fi
    grep -q "$file" err.txt || fail "the error does not name $file: $(cat err.txt)"
    [ "$(sha256_hex "$file")" = "$before" ] || fail "$file was modified"
}

cp "$NV" nv.good
corrupt "$NV" 100
expect_refused "$NV"
# The advice fits the file: the NV file is the TPM itself.
grep -q "restore it from a backup" err.txt || fail "NV advice: $(cat err.txt)"
grep -q -- "--power-cycle" err.txt && fail "--power-cycle offered for the NV file"
if timeout "$LIMIT" tpm2 getrandom -T "$TCTI --power-cycle" 8 >/dev/null 2>&1; then
    fail "--power-cycle started past a corrupt NV file"
fi
cp nv.good "$NV"
truncate -s -7 "$NV"
expect_refused "$NV"
cp nv.good "$NV"
t2 getrandom 8 >/dev/null || fail "the repaired state does not work"

# Volatile state lives in two slots; with both corrupt nothing valid is left.
for slot in 0 1; do
    cp "$STATE/tpm2-volatile.state.$slot" "vol.$slot"
    corrupt "$STATE/tpm2-volatile.state.$slot" 60
done
expect_refused "$STATE/tpm2-volatile.state.0"
grep -q "tpm2-volatile.state.1" err.txt || fail "slot 1 not named: $(cat err.txt)"
[ "$(sha256_hex "$STATE/tpm2-volatile.state.1")" != "$(sha256_hex vol.1)" ] ||
    fail "slot 1 was repaired behind our back"
# The advice fits volatile state: a fresh boot does without it.
grep -q -- "--power-cycle" err.txt || fail "volatile advice: $(cat err.txt)"

# ... and a fresh boot works past it, keeping NV: an index defined before
# the corruption is still there.
t2 nvdefine 0x1500021 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null 2>&1 &&
    fail "nvdefine worked on corrupt volatile state"
cp vol.0 "$STATE/tpm2-volatile.state.0"
cp vol.1 "$STATE/tpm2-volatile.state.1"
t2 nvdefine 0x1500021 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null ||
    fail "nvdefine"
for slot in 0 1; do
    corrupt "$STATE/tpm2-volatile.state.$slot" 60
done
timeout "$LIMIT" tpm2 getrandom -T "$TCTI --power-cycle" 8 >/dev/null 2>pc.err ||
    fail "--power-cycle does not start past corrupt volatile state: $(cat pc.err)"
t2 nvreadpublic 0x1500021 >/dev/null || fail "NV index lost by --power-cycle"
t2 getrandom 8 >/dev/null || fail "the next call after --power-cycle"
echo "ok"
