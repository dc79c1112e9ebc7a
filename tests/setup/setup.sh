#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tpmcrb setup: EK certificates that tpm2-tools and openssl accept, PCR
# banks, idempotence, --overwrite, and bad CAs refused with nothing changed.
. "$(dirname "$0")/lib.sh"

CA=$WORK/ca
"$TPMCRB" setup --state "$STATE" --ca "$CA" --print > out.txt 2> err.txt ||
    fail "setup failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "setup wrote to stderr: $(cat err.txt)"
grep -q "manufactured the TPM in $STATE" out.txt || fail "no summary: $(cat out.txt)"
grep -q "created a local CA" out.txt || fail "CA creation not reported"
grep -q "NV 0x01c00002" out.txt && grep -q "NV 0x01c0000a" out.txt ||
    fail "--print does not show both certificates: $(cat out.txt)"
[ "$(stat -c %a "$CA/ca.key")" = 600 ] || fail "CA key mode $(stat -c %a "$CA/ca.key")"
ls -d "$STATE".new.* 2>/dev/null && fail "temporary directory left behind"

T=$(tcti_of "$STATE")
check_ek_cert "$T" "$CA/ca.crt" rsa 0x01c00002
check_ek_cert "$T" "$CA/ca.crt" ecc 0x01c0000a
cp ek-rsa.pem first-ek.pem
cp cert-rsa.der first-cert.der

# Only the sha256 bank is active (swtpm_setup's default).
timeout "$LIMIT" tpm2_getcap -T "$T" pcrs > pcrs.txt
grep -Eq 'sha256: \[ 0, 1, 2' pcrs.txt || fail "sha256 bank not active: $(cat pcrs.txt)"
for b in sha1 sha384 sha512; do
    if grep -Eq "$b: \[ [0-9]" pcrs.txt; then
        fail "$b bank active: $(cat pcrs.txt)"
    fi
done

# Again: the TPM is kept, certificates and EK unchanged.
"$TPMCRB" setup --state "$STATE" --ca "$CA" > out.txt 2> err.txt ||
    fail "second setup failed: $(cat err.txt)"
grep -q "kept the TPM" out.txt || fail "second setup: $(cat out.txt)"
check_ek_cert "$T" "$CA/ca.crt" rsa 0x01c00002
cmp -s cert-rsa.der first-cert.der || fail "a kept TPM got a new certificate"
cmp -s ek-rsa.pem first-ek.pem || fail "a kept TPM got a new EK"

# --overwrite: a new TPM (new EK), with other banks.
"$TPMCRB" setup --state "$STATE" --ca "$CA" --overwrite \
    --pcr-banks sha1,sha384 > out.txt 2> err.txt || fail "overwrite: $(cat err.txt)"
grep -q "replaced the TPM" out.txt || fail "overwrite: $(cat out.txt)"
check_ek_cert "$T" "$CA/ca.crt" rsa 0x01c00002
cmp -s ek-rsa.pem first-ek.pem && fail "--overwrite kept the old EK"
timeout "$LIMIT" tpm2_getcap -T "$T" pcrs > pcrs.txt
grep -Eq 'sha1: \[ 0, 1' pcrs.txt && grep -Eq 'sha384: \[ 0, 1' pcrs.txt ||
    fail "sha1,sha384 not active: $(cat pcrs.txt)"
grep -Eq 'sha256: \[ [0-9]' pcrs.txt && fail "sha256 still active"

# A TPM that the pipe made (no EK certificate) keeps its EK and gets them,
# also after its user set platform and owner passwords (as firmware and a
# guest do): setup boots it afresh and reads with the index's own auth.
S2=$WORK/plain
timeout "$LIMIT" tpm2_createek -T "$(tcti_of "$S2")" -c x.ctx -G rsa -u plain-ek.pem \
    -f pem >/dev/null 2>&1 || fail "createek on a plain TPM"
timeout "$LIMIT" tpm2_changeauth -T "$(tcti_of "$S2")" -c p platform-secret ||
    fail "changeauth platform"
timeout "$LIMIT" tpm2_changeauth -T "$(tcti_of "$S2")" -c o owner-secret ||
    fail "changeauth owner"
"$TPMCRB" setup --state "$S2" --ca "$CA" > out.txt 2> err.txt || fail "setup of a plain TPM: $(cat err.txt)"
grep -q "kept the TPM in $S2 .*issued" out.txt || fail "plain TPM: $(cat out.txt)"
timeout "$LIMIT" tpm2_nvread -T "$(tcti_of "$S2")" -C 0x01c00002 -o cert-plain.der 0x01c00002 \
    2>/dev/null || fail "certificate not readable with the index's auth"
openssl verify -CAfile "$CA/ca.crt" <(openssl x509 -inform der -in cert-plain.der) >/dev/null ||
    fail "certificate of the kept TPM does not verify"
"$TPMCRB" setup --state "$S2" --ca "$CA" > out.txt 2> err.txt || fail "setup again: $(cat err.txt)"
grep -q "already present" out.txt || fail "setup again: $(cat out.txt)"
timeout "$LIMIT" tpm2_createek -T "$(tcti_of "$S2")" -c y.ctx -G rsa -u plain-ek2.pem -f pem \
    -w owner-secret >/dev/null 2>&1 || fail "createek after setup"
cmp -s plain-ek2.pem plain-ek.pem || fail "setup changed the EK of an existing TPM"

# --lock-nvram: the certificates can no longer be written.
S3=$WORK/locked
"$TPMCRB" setup --state "$S3" --ca "$CA" --lock-nvram > out.txt 2> err.txt ||
    fail "setup --lock-nvram: $(cat err.txt)"
timeout "$LIMIT" tpm2_nvreadpublic -T "$(tcti_of "$S3")" 0x01c00002 > pub.txt
grep -q writelocked pub.txt || fail "certificate index not write-locked: $(cat pub.txt)"
if printf 'x' | timeout "$LIMIT" tpm2_nvwrite -T "$(tcti_of "$S3")" -C p -i - 0x01c0000a \
        2> /dev/null; then
    fail "a locked certificate index took a write"
fi
check_ek_cert "$(tcti_of "$S3")" "$CA/ca.crt" ecc 0x01c0000a
timeout "$LIMIT" tpm2_nvreadpublic -T "$T" 0x01c00002 | grep -q writelocked &&
    fail "the index is locked without --lock-nvram"

# A CA without its key: refused, naming the missing file; nothing changes.
mkdir "$WORK/halfca"
cp "$CA/ca.crt" "$WORK/halfca/"
before=$(snapshot_dir "$STATE")
if "$TPMCRB" setup --state "$STATE" --overwrite --ca "$WORK/halfca" 2> err.txt; then
    fail "setup accepted a CA without its key"
fi
grep -q "$WORK/halfca/ca.key is missing" err.txt || fail "message: $(cat err.txt)"
[ "$(snapshot_dir "$STATE")" = "$before" ] || fail "a refused setup changed $STATE"
[ "$(ls "$WORK/halfca")" = ca.crt ] || fail "a refused setup wrote into the CA"

# A key that is not the certificate's.
mkdir "$WORK/mixca"
cp "$CA/ca.crt" "$WORK/mixca/"
openssl genrsa -out "$WORK/mixca/ca.key" 2048 2>/dev/null
if "$TPMCRB" setup --state "$WORK/new" --ca "$WORK/mixca" 2> err.txt; then
    fail "setup accepted a CA key of another certificate"
fi
grep -q "is not the key of" err.txt || fail "message: $(cat err.txt)"
[ ! -e "$WORK/new" ] || fail "a refused setup created $WORK/new"

# Truncated CA certificate.
mkdir "$WORK/badca"
cp "$CA/ca.key" "$WORK/badca/"
head -c 100 "$CA/ca.crt" > "$WORK/badca/ca.crt"
if "$TPMCRB" setup --state "$WORK/new" --ca "$WORK/badca" 2> err.txt; then
    fail "setup accepted a truncated CA certificate"
fi
grep -q "$WORK/badca/ca.crt is not a PEM certificate" err.txt || fail "message: $(cat err.txt)"

# Bad banks are a usage error.
status=0
"$TPMCRB" setup --state "$WORK/new" --ca "$CA" --pcr-banks sha256,md5 2> err.txt || status=$?
[ "$status" = 2 ] || fail "--pcr-banks md5: exit $status"
echo "setup: certificates verified, EKs match, banks, idempotence, bad CAs"
