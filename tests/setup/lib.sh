# SPDX-License-Identifier: BSD-3-Clause
# Shared set-up of the provisioning tests (sourced): the pipe tests'
# scratch directory and helpers, plus checks on EK certificates.
. "$TPMCRB_SRCDIR/tests/pipe/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

# tcti STATEDIR [pipe options...]
tcti_of() { local d=$1; shift; echo "cmd:$TPMCRB pipe --state $d $*"; }

# Checksums of every file under DIR (names and contents), to show that a
# refused command left everything as it was.
snapshot_dir() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# check_ek_cert TCTI CAFILE TYPE(rsa|ecc) INDEX: the certificate in NV
# verifies against the CA and carries the EK that tpm2_createek recreates.
check_ek_cert() {
    local tcti=$1 ca=$2 type=$3 index=$4
    timeout "$LIMIT" tpm2_nvread -T "$tcti" -C o -o "cert-$type.der" "$index" \
        2>/dev/null || fail "no EK certificate in NV $index"
    openssl x509 -inform der -in "cert-$type.der" -out "cert-$type.pem" ||
        fail "NV $index does not hold a DER certificate"
    openssl verify -CAfile "$ca" "cert-$type.pem" >/dev/null ||
        fail "the $type EK certificate does not verify against $ca"
    timeout "$LIMIT" tpm2_createek -T "$tcti" -c "ek-$type.ctx" -G "$type" \
        -u "ek-$type.pem" -f pem >/dev/null || fail "tpm2_createek -G $type"
    openssl x509 -in "cert-$type.pem" -pubkey -noout > "certkey-$type.pem"
    cmp -s "certkey-$type.pem" "ek-$type.pem" ||
        fail "the $type certificate's key is not the EK tpm2_createek made"
}
