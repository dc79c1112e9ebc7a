#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb state`: inspect (text and JSON), convert both ways, refuse broken
# files with the reason and exit status 1, usage errors with 2. The inputs
# are the snapshot seeds of the fuzz corpus (first byte: fuzzer flags).
set -u
: "${TPMCRB:?}" "${TPMCRB_SRCDIR:?}"
if ! "$TPMCRB" state --help >/dev/null 2>&1; then
    echo "SKIP: this tpmcrb has no 'state' command"
    exit 77
fi
corpus=$TPMCRB_SRCDIR/tests/fuzz/corpus/snapshot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # description, then a command that must succeed
    what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
seed() { tail -c +2 "$corpus/$1" >"$tmp/$2"; }

seed inflight-0 inflight.snap
seed command-3 compat1.snap
"$TPMCRB" state inspect "$tmp/inflight.snap" >"$tmp/out.txt"
check "inspect shows the command in flight" \
    grep -q "command in flight: locality 4, 14 bytes" "$tmp/out.txt"
check "inspect decodes LOC_STATE" \
    grep -q "LOC_STATE    00000093  established assigned active=4 valid" "$tmp/out.txt"
check "inspect lists the sections" grep -q "MEM     24576 bytes" "$tmp/out.txt"
"$TPMCRB" state inspect "$tmp/inflight.snap" --json >"$tmp/out.json"
if command -v python3 >/dev/null; then
    check "inspect --json is JSON" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['core']['in_flight']['locality'] == 4
assert d['localities'][0]['registers']['LOC_STATE'] == 0x93
assert d['backend']['name'] == 'counter'" "$tmp/out.json"
fi
check "convert to qemu" "$TPMCRB" state convert --to qemu \
    "$tmp/compat1.snap" "$tmp/page"
check "the QEMU page is 4096 bytes" test "$(wc -c <"$tmp/page")" -eq 4096
check "convert back to tpmcrb" "$TPMCRB" state convert --to tpmcrb \
    "$tmp/page" "$tmp/back.snap"
(umask 022; "$TPMCRB" state convert --to qemu "$tmp/back.snap" "$tmp/page2" \
    --backend-out "$tmp/be.bin")
check "outputs are 0600 whatever the umask (they hold the TPM's secrets)" \
    test "$(stat -c %a "$tmp/page2" "$tmp/be.bin" | sort -u)" = 600
check "QEMU -> tpmcrb -> QEMU is lossless" cmp -s "$tmp/page" "$tmp/page2"
check "inspect reads a QEMU page" sh -c \
    "'$TPMCRB' state inspect '$tmp/page' | grep -q 'QEMU tpm-crb page'"

"$TPMCRB" state convert --to qemu "$tmp/inflight.snap" "$tmp/x" 2>"$tmp/err"
check "split layout cannot become a QEMU page (exit 1)" test $? -eq 1
check "... and says why" grep -q "compat layout" "$tmp/err"
cp "$tmp/inflight.snap" "$tmp/bad.snap"
printf '\001' | dd of="$tmp/bad.snap" bs=1 seek=400 conv=notrunc 2>/dev/null
"$TPMCRB" state inspect "$tmp/bad.snap" >/dev/null 2>"$tmp/err"
check "a damaged snapshot is refused (exit 1)" test $? -eq 1
check "... naming the section" grep -q "MEM section checksum mismatch" "$tmp/err"
head -c 100 "$tmp/inflight.snap" >"$tmp/short.snap"
"$TPMCRB" state inspect "$tmp/short.snap" >/dev/null 2>"$tmp/err"
check "a truncated snapshot is refused" grep -q "truncated or padded" "$tmp/err"
"$TPMCRB" state convert --to nowhere a b >/dev/null 2>&1
check "usage errors exit 2" test $? -eq 2
exit $((fails > 0))
