#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# No accidental TPMs: a new TPM only in an empty or missing directory, with
# one notice line; a directory of someone else's files or of swtpm state is
# refused, naming what it holds, and left untouched.
. "$(dirname "$0")/lib.sh"

# First use: one notice line, naming the directory and `setup`.
t2 getrandom 4 -o r.bin 2> err.txt || fail "getrandom on a new TPM: $(cat err.txt)"
[ "$(wc -l < err.txt)" = 1 ] || fail "expected one notice line: $(cat err.txt)"
grep -q "created a new TPM in $STATE .*tpmcrb setup --state $STATE" err.txt ||
    fail "notice: $(cat err.txt)"
# Later uses are silent.
t2 getrandom 4 -o r.bin 2> err.txt || fail "second getrandom"
[ ! -s err.txt ] || fail "second use printed: $(cat err.txt)"

# An empty existing directory is fine too.
mkdir "$WORK/empty"
timeout "$LIMIT" tpm2_getrandom -T "$(tcti_of "$WORK/empty")" 4 -o r.bin 2> err.txt ||
    fail "empty directory refused: $(cat err.txt)"
grep -q "created a new TPM in $WORK/empty" err.txt || fail "notice: $(cat err.txt)"

# Someone else's files: refused, named, untouched (not even a lock file).
mkdir "$WORK/docs"
echo hello > "$WORK/docs/notes.txt"
before=$(ls -A "$WORK/docs")
if echo | "$TPMCRB" pipe --state "$WORK/docs" > /dev/null 2> err.txt; then
    fail "pipe made a TPM among foreign files"
fi
grep -q "found $WORK/docs/notes.txt" err.txt || fail "message: $(cat err.txt)"
[ "$(ls -A "$WORK/docs")" = "$before" ] || fail "the foreign directory changed: $(ls -A "$WORK/docs")"

# swtpm state: refused with the way to import it.
mkdir "$WORK/sw"
printf 'x' > "$WORK/sw/tpm2-00.permall"
for cmd in "pipe" "setup --ca $WORK/ca"; do
    if echo | "$TPMCRB" $cmd --state "$WORK/sw" > /dev/null 2> err.txt; then
        fail "$cmd made a TPM beside swtpm state"
    fi
    grep -q "this is swtpm state: import it with \`tpmcrb state import-swtpm" err.txt ||
        fail "$cmd message: $(cat err.txt)"
done
[ "$(ls -A "$WORK/sw")" = tpm2-00.permall ] || fail "the swtpm directory changed"
[ ! -e "$WORK/ca" ] || fail "setup made a CA before refusing"

# swtpm (the swtpm backend's child) is not let loose on tpmcrb's TPM.
if command -v swtpm >/dev/null; then
    before=$(ls -A "$STATE")
    if echo | "$TPMCRB" pipe --backend swtpm --state "$STATE" > /dev/null 2> err.txt; then
        fail "swtpm made a TPM beside tpmcrb's"
    fi
    grep -q "holds tpmcrb's own TPM.*tpmcrb state export-swtpm --state $STATE" err.txt ||
        fail "swtpm backend message: $(cat err.txt)"
    [ "$(ls -A "$STATE")" = "$before" ] || fail "the refused swtpm backend changed $STATE"
fi

# A TPM whose NV file vanished is not silently remade.
mv "$STATE/tpm2-nv.state" "$WORK/saved-nv"
if echo | "$TPMCRB" pipe --state "$STATE" > /dev/null 2> err.txt; then
    fail "pipe remade a TPM whose NV file is gone"
fi
echo "first use: notice once, foreign and swtpm directories refused"
