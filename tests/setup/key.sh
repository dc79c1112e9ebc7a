#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Encryption at rest (--key): the state files hold none of the TPM's NV
# contents in the clear (the same steps without a key leave them readable,
# so the search can find them); a missing, wrong or short key, or a key
# for plain state, is refused naming the file, and no file changes;
# setup, import-swtpm and the snapshot files of `state convert` take it.
. "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > key.hex
printf 'z%.0s' $(seq 32) > key.bin
head -c 32 /dev/urandom > other.bin
head -c 16 /dev/urandom > short.bin
K="file=$WORK/key.hex"
SECRET=known-nv-content-0123456789abcdef
IDX=0x1500040

# write_secret TCTI: an NV index holding SECRET.
write_secret() {
    timeout "$LIMIT" tpm2_nvdefine -T "$1" "$IDX" -C o -s ${#SECRET} \
        -a "ownerread|ownerwrite" >/dev/null 2>&1 || fail "nvdefine"
    printf '%s' "$SECRET" | timeout "$LIMIT" tpm2_nvwrite -T "$1" "$IDX" -C o -i - ||
        fail "nvwrite"
}
read_secret() {
    timeout "$LIMIT" tpm2_nvread -T "$1" -C o -o got.bin "$IDX" 2>/dev/null &&
        [ "$(cat got.bin)" = "$SECRET" ]
}

# Control: without a key the contents are on disk as written.
write_secret "$(tcti_of "$WORK/plain")"
grep -rqa "$SECRET" "$WORK/plain" || fail "control: the plain state does not hold the NV contents"

# With a key: a TPM from setup, the same NV write, nothing readable.
"$TPMCRB" setup --state "$STATE" --ca "$WORK/ca" --key "$K" > /dev/null 2> err.txt ||
    fail "setup --key: $(cat err.txt)"
T=$(tcti_of "$STATE" --key "$K")
write_secret "$T"
read_secret "$T" || fail "NV does not read back through the key"
grep -rqa "$SECRET" "$STATE" && fail "NV contents in the clear in $STATE"
grep -rqa "tpmcrb local CA" "$STATE" && fail "EK certificate in the clear in $STATE"
check_ek_cert "$T" "$WORK/ca/ca.crt" rsa 0x01c00002
# The same key in binary form.
python3 -c "open('key.raw','wb').write(bytes.fromhex(open('key.hex').read()))"
read_secret "$(tcti_of "$STATE" --key "file=$WORK/key.raw,format=binary")" ||
    fail "the binary form of the key does not open the state"

# Missing, wrong and short keys; a key for plain state: refused, unchanged.
before=$(snapshot_dir "$STATE")
expect_refusal() {   # TCTI PATTERN
    if read_secret "$1" 2> err.txt; then fail "read with $1"; fi
    echo | ${1#cmd:} > /dev/null 2> err.txt && fail "pipe ran: $1"
    grep -q "$2" err.txt || fail "message for $1: $(cat err.txt)"
}
expect_refusal "$(tcti_of "$STATE")" "$STATE/tpm2-nv.state is encrypted: give its key"
expect_refusal "$(tcti_of "$STATE" --key "file=$WORK/other.bin,format=binary")" \
    "cannot decrypt state file $STATE/tpm2-nv.state: wrong key"
expect_refusal "$(tcti_of "$STATE" --key "file=$WORK/short.bin,format=binary")" \
    "short.bin has 128 bits: .* needs a 256-bit key"
expect_refusal "$(tcti_of "$STATE" --key "file=$WORK/nokey")" "cannot open $WORK/nokey"
expect_refusal "$(tcti_of "$STATE" --key "file=$WORK/key.bin")" "key.bin: byte 0x7a at offset 0 is not a hex digit"
[ "$(snapshot_dir "$STATE")" = "$before" ] || fail "a refused key changed $STATE"
pbefore=$(snapshot_dir "$WORK/plain")
expect_refusal "$(tcti_of "$WORK/plain" --key "$K")" "is not encrypted but a key was given"
[ "$(snapshot_dir "$WORK/plain")" = "$pbefore" ] || fail "a key changed plain state"

# import-swtpm --key: the imported TPM is sealed at once (plain swtpm
# files need no key of their own).
"$TPMCRB" state export-swtpm --state "$WORK/plain" --to "$WORK/sw" > /dev/null ||
    fail "export of the plain TPM"
"$TPMCRB" state import-swtpm --from "$WORK/sw" --state "$WORK/imp" --key "$K" \
    > /dev/null 2> err.txt || fail "import --key: $(cat err.txt)"
grep -rqa "$SECRET" "$WORK/imp" && fail "NV contents in the clear after import --key"
read_secret "$(tcti_of "$WORK/imp" --key "$K")" || fail "imported TPM does not read back"
# export-swtpm of a sealed TPM: swtpm's files are encrypted with the key.
"$TPMCRB" state export-swtpm --state "$STATE" --to "$WORK/sw-enc" --key "$K" > /dev/null ||
    fail "export of the sealed TPM"
grep -rqa "$SECRET" "$WORK/sw-enc" && fail "export with --key wrote NV in the clear"
"$TPMCRB" state import-swtpm --from "$WORK/sw-enc" --state "$WORK/imp2" > /dev/null 2> err.txt &&
    fail "imported encrypted swtpm files without a key"

# serve --key: the TPM it manufactures and the state it saves at SIGTERM
# are sealed; pipe opens them with the key only (--power-cycle: no client
# ever sent TPM2_Startup to the served TPM, so its saved state is not one
# to resume).
truncate -s 64K ram
"$TPMCRB" serve --log-level info --shm ram --offset 0 --state "$WORK/served" --key "$K" \
    2> serve.log &
SPID=$!
for _ in $(seq 200); do grep -q "device at" serve.log && break; sleep 0.05; done
grep -q "device at" serve.log || fail "serve --key did not start: $(cat serve.log)"
kill -TERM "$SPID"
wait "$SPID" || fail "serve --key exited with $?: $(cat serve.log)"
for f in "$WORK"/served/tpm2-*; do
    [ "$(od -An -tx1 -j36 -N1 "$f" | tr -d ' ')" = 01 ] || fail "$f is not sealed"
done
expect_refusal "$(tcti_of "$WORK/served")" "$WORK/served/tpm2-nv.state is encrypted"
timeout "$LIMIT" tpm2_getrandom -T "$(tcti_of "$WORK/served" --key "$K" --power-cycle)" 4 > /dev/null ||
    fail "pipe --key cannot open what serve --key saved"

# Snapshot files written by `state convert --key` are sealed; reading one
# needs the key.
tail -c +2 "$TPMCRB_SRCDIR/tests/fuzz/corpus/snapshot/command-3" > plain.snap
"$TPMCRB" state convert --to qemu --key "$K" --backend-out be.bin plain.snap page.bin ||
    fail "convert --key of a plain snapshot"
for f in page.bin be.bin; do
    head -c 16 "$f" | grep -q TPMCRBSEALED || fail "$f was written in the clear"
done
"$TPMCRB" state convert --to qemu plain.snap page-plain.bin 2> /dev/null || fail "convert without a key"
"$TPMCRB" state convert --to tpmcrb page.bin x.snap 2> err.txt && fail "read a sealed page without its key"
"$TPMCRB" state convert --to tpmcrb --key "$K" page.bin sealed.snap || fail "convert --key"
"$TPMCRB" state inspect sealed.snap > /dev/null 2> err.txt && fail "inspected a sealed snapshot without its key"
grep -q "sealed.snap is encrypted" err.txt || fail "message: $(cat err.txt)"
"$TPMCRB" state inspect --key "$K" sealed.snap > out.txt || fail "inspect --key"
grep -q "tpmcrb snapshot" out.txt || fail "inspect --key: $(cat out.txt)"
[ "$(stat -c %a sealed.snap)" = 600 ] || fail "sealed snapshot mode $(stat -c %a sealed.snap)"
echo "key: state sealed, refusals named and harmless, setup/import/export/convert take it"
