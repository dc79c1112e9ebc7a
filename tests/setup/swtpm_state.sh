#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# swtpm state in and out, against real swtpm: after import-swtpm tpmcrb
# presents swtpm's TPM (same EK public, NV index contents, PCRs from the
# volatile state), after export-swtpm swtpm presents tpmcrb's; state that
# swtpm encrypted with its --key (AES-128 and AES-256) is read with that
# key; bad input is refused naming the file, with nothing written.
. "$(dirname "$0")/lib.sh"
command -v swtpm >/dev/null && command -v swtpm_ioctl >/dev/null ||
    { echo "SKIP: swtpm/swtpm_ioctl not installed"; exit 77; }

# swtpm itself, as the child of tpmcrb's swtpm backend: the files in the
# directory are swtpm's own, its volatile state is stored at power-off.
sw_tcti() { echo "cmd:$TPMCRB pipe --backend swtpm --state $1"; }
# tpm2-tools return as soon as they have their response; the pipe then
# powers the TPM off (swtpm stores its volatile state) while holding the
# directory's lifetime lock (owner.lock). Wait for that before looking at
# files.
settle() {
    local lock
    for lock in "$@"; do
        [ -e "$lock/owner.lock" ] && flock -w 30 "$lock/owner.lock" true
        [ -e "$lock/lock" ] && flock -w 30 "$lock/lock" true
    done
    return 0
}
tc_tcti() { tcti_of "$@"; }
NV_IDX=0x1500020
X=$(printf x | sha256sum | cut -d' ' -f1)
Y=$(printf y | sha256sum | cut -d' ' -f1)

# facts TCTI PREFIX: EK public, NV index contents and PCRs 16 and 23.
facts() {
    local t=$1 p=$2 d=${1##* }
    timeout "$LIMIT" tpm2_createek -T "$t" -c "$p.ctx" -G rsa -u "$p-ek.pem" -f pem \
        >/dev/null || fail "$p: createek"
    settle "$d"
    timeout "$LIMIT" tpm2_nvread -T "$t" -C o -o "$p-nv.bin" "$NV_IDX" 2>/dev/null ||
        fail "$p: nvread"
    settle "$d"
    timeout "$LIMIT" tpm2_pcrread -T "$t" sha256:16,23 > "$p-pcr.txt" || fail "$p: pcrread"
    settle "$d"
}
same_tpm() {
    cmp -s "$1-ek.pem" "$2-ek.pem" || fail "$2: EK differs from $1's"
    cmp -s "$1-nv.bin" "$2-nv.bin" || fail "$2: NV differs: $(cat "$2-nv.bin")"
    cmp -s "$1-pcr.txt" "$2-pcr.txt" || fail "$2: PCRs differ: $(cat "$1-pcr.txt" "$2-pcr.txt")"
}

# ---- swtpm -> tpmcrb
SW=$WORK/sw
mkdir "$SW"
T=$(sw_tcti "$SW")
timeout "$LIMIT" tpm2_nvdefine -T "$T" "$NV_IDX" -C o -s 16 -a "ownerread|ownerwrite" >/dev/null ||
    fail "nvdefine in swtpm"
settle "$SW"
printf 'made-by-swtpm-01' | timeout "$LIMIT" tpm2_nvwrite -T "$T" "$NV_IDX" -C o -i - ||
    fail "nvwrite in swtpm"
settle "$SW"
timeout "$LIMIT" tpm2_pcrextend -T "$T" "16:sha256=$X" || fail "pcrextend in swtpm"
settle "$SW"
facts "$T" sw
[ -s "$SW/tpm2-00.volatilestate" ] || fail "swtpm stored no volatile state"
grep -q '16: 0x0000000000' sw-pcr.txt && fail "PCR 16 was not extended in swtpm"

"$TPMCRB" state import-swtpm --from "$SW" --state "$WORK/tc" > out.txt 2> err.txt ||
    fail "import: $(cat err.txt)"
grep -q "volatile state carried" out.txt || fail "import: $(cat out.txt)"
facts "$(tc_tcti "$WORK/tc")" tc
same_tpm sw tc

# ---- tpmcrb -> swtpm (more state first, from the tpmcrb side)
timeout "$LIMIT" tpm2_pcrextend -T "$(tc_tcti "$WORK/tc")" "23:sha256=$Y" || fail "pcrextend 23"
printf 'made-by-tpmcrb-2' | timeout "$LIMIT" tpm2_nvwrite -T "$(tc_tcti "$WORK/tc")" "$NV_IDX" -C o -i - ||
    fail "nvwrite in tpmcrb"
facts "$(tc_tcti "$WORK/tc")" tc2
"$TPMCRB" state export-swtpm --state "$WORK/tc" --to "$WORK/sw2" > out.txt 2> err.txt ||
    fail "export: $(cat err.txt)"
[ -s "$WORK/sw2/tpm2-00.permall" ] && [ -s "$WORK/sw2/tpm2-00.volatilestate" ] ||
    fail "export wrote $(ls "$WORK/sw2")"
facts "$(sw_tcti "$WORK/sw2")" sw2
same_tpm tc2 sw2
settle "$WORK/sw2" "$SW"
cmp -s sw-ek.pem sw2-ek.pem || fail "the EK changed on the round trip"

# export refuses a directory with swtpm state unless --overwrite.
if "$TPMCRB" state export-swtpm --state "$WORK/tc" --to "$SW" 2> err.txt; then
    fail "export overwrote swtpm state without --overwrite"
fi
grep -q "found tpm2-00.permall" err.txt || fail "export message: $(cat err.txt)"
"$TPMCRB" state export-swtpm --state "$WORK/tc" --to "$SW" --overwrite > /dev/null ||
    fail "export --overwrite"

# ---- swtpm's own encryption (--key), 128 and 256 bits
for bits in 128 256; do
    SE=$WORK/se$bits
    mkdir "$SE"
    head -c $((bits / 8)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "key$bits.hex"
    mode=aes-cbc
    [ "$bits" = 256 ] && mode=aes-256-cbc
    swtpm socket --tpm2 --tpmstate "dir=$SE" --key "file=$WORK/key$bits.hex,mode=$mode" \
        --ctrl "type=unixio,path=$WORK/ctrl$bits" --server "type=unixio,path=$WORK/data$bits" \
        --flags not-need-init &
    SWPID=$!
    for _ in $(seq 100); do [ -S "$WORK/data$bits" ] && break; sleep 0.05; done
    T="cmd:$TPMCRB pipe --backend swtpm:ctrl=$WORK/ctrl$bits,data=$WORK/data$bits"
    timeout "$LIMIT" tpm2_nvdefine -T "$T" "$NV_IDX" -C o -s 16 -a "ownerread|ownerwrite" \
        >/dev/null || fail "nvdefine in encrypting swtpm"
    printf 'swtpm-secret-%03d' "$bits" | timeout "$LIMIT" tpm2_nvwrite -T "$T" "$NV_IDX" -C o -i - ||
        fail "nvwrite in encrypting swtpm"
    # The pipe stores swtpm's volatile state when it powers off, after
    # the tool has its response: wait for it before stopping swtpm.
    for _ in $(seq 200); do [ -s "$SE/tpm2-00.volatilestate" ] && break; sleep 0.05; done
    [ -s "$SE/tpm2-00.volatilestate" ] || fail "swtpm stored no volatile state"
    swtpm_ioctl --unix "$WORK/ctrl$bits" -s >/dev/null
    wait "$SWPID" || true
    grep -q "swtpm-secret" "$SE/tpm2-00.permall" && fail "swtpm did not encrypt"
    [ "$bits" = 128 ] && rm "$SE/tpm2-00.volatilestate"

    if "$TPMCRB" state import-swtpm --from "$SE" --state "$WORK/tce$bits" 2> err.txt; then
        fail "imported encrypted swtpm state without its key"
    fi
    grep -q "$SE/tpm2-00.permall is encrypted" err.txt || fail "message: $(cat err.txt)"
    [ ! -e "$WORK/tce$bits" ] || fail "a refused import created the state directory"
    "$TPMCRB" state import-swtpm --from "$SE" --state "$WORK/tce$bits" \
        --swtpm-key "file=$WORK/key$bits.hex" > /dev/null 2> err.txt ||
        fail "import with swtpm's $bits-bit key: $(cat err.txt)"
    # Without swtpm volatile state the import has none either (the TPM
    # boots with TPM2_Startup, as swtpm's would); with it, it is carried.
    if [ "$bits" = 128 ]; then
        ! ls "$WORK/tce$bits"/tpm2-volatile.state.* 2>/dev/null ||
            fail "import made volatile state that swtpm did not have"
    else
        ls "$WORK/tce$bits"/tpm2-volatile.state.* >/dev/null 2>&1 ||
            fail "encrypted volatile state was not carried"
    fi
    timeout "$LIMIT" tpm2_nvread -T "$(tc_tcti "$WORK/tce$bits")" -C o -o got.bin "$NV_IDX" \
        2>/dev/null || fail "nvread after import of encrypted state"
    [ "$(cat got.bin)" = "$(printf 'swtpm-secret-%03d' "$bits")" ] ||
        fail "NV after import of encrypted state: $(cat got.bin)"
done
# A wrong swtpm key: named, refused.
if "$TPMCRB" state import-swtpm --from "$WORK/se256" --state "$WORK/wrong" \
        --swtpm-key "file=$WORK/key256.hex.other" 2> err.txt; then
    fail "import with a missing key file"
fi
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > other.hex
if "$TPMCRB" state import-swtpm --from "$WORK/se256" --state "$WORK/wrong" \
        --swtpm-key "file=$WORK/other.hex" 2> err.txt; then
    fail "import with a wrong key"
fi
grep -q "cannot decrypt $WORK/se256/tpm2-00.permall: wrong key" err.txt ||
    fail "wrong key message: $(cat err.txt)"
[ ! -e "$WORK/wrong" ] || fail "a refused import created the state directory"

# Our export, encrypted for swtpm, is read by swtpm with its --key.
"$TPMCRB" state export-swtpm --state "$WORK/tce256" --to "$WORK/swe" \
    --swtpm-key "file=$WORK/key256.hex" > /dev/null || fail "encrypted export"
grep -q "swtpm-secret" "$WORK/swe/tpm2-00.permall" && fail "export did not encrypt"
swtpm socket --tpm2 --tpmstate "dir=$WORK/swe" --key "file=$WORK/key256.hex,mode=aes-256-cbc" \
    --ctrl "type=unixio,path=$WORK/ctrle" --server "type=unixio,path=$WORK/datae" &
SWPID=$!
for _ in $(seq 100); do [ -S "$WORK/datae" ] && break; sleep 0.05; done
timeout "$LIMIT" tpm2_nvread -T "cmd:$TPMCRB pipe --backend swtpm:ctrl=$WORK/ctrle,data=$WORK/datae" \
    -C o -o got.bin "$NV_IDX" 2>/dev/null || fail "swtpm cannot read our encrypted export"
swtpm_ioctl --unix "$WORK/ctrle" -s >/dev/null
wait "$SWPID" || true
[ "$(cat got.bin)" = swtpm-secret-256 ] || fail "swtpm read $(cat got.bin)"

# ---- bad input: truncated and foreign files, named; nothing written.
mkdir "$WORK/trunc"
head -c 100 "$SW/tpm2-00.permall" > "$WORK/trunc/tpm2-00.permall"
if "$TPMCRB" state import-swtpm --from "$WORK/trunc" --state "$WORK/bad" 2> err.txt; then
    fail "imported a truncated permall"
fi
grep -q "$WORK/trunc/tpm2-00.permall is not an swtpm state file.*truncated" err.txt ||
    fail "truncated message: $(cat err.txt)"
mkdir "$WORK/foreign"
head -c 2000 /dev/urandom > "$WORK/foreign/tpm2-00.permall"
if "$TPMCRB" state import-swtpm --from "$WORK/foreign" --state "$WORK/bad" 2> err.txt; then
    fail "imported random bytes"
fi
grep -q "$WORK/foreign/tpm2-00.permall is not an swtpm state file" err.txt ||
    fail "foreign message: $(cat err.txt)"
# A well-formed swtpm file whose blob libtpms rejects.
"$TPMCRB" state export-swtpm --state "$WORK/tc" --to "$WORK/mangled" > /dev/null
python3 - "$WORK/mangled/tpm2-00.permall" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
for i in range(40, 60):
    b[i] ^= 0xff
open(p, 'wb').write(b)
PY
if "$TPMCRB" state import-swtpm --from "$WORK/mangled" --state "$WORK/bad" 2> err.txt; then
    fail "imported a blob libtpms rejects"
fi
grep -q "did not accept the state from $WORK/mangled" err.txt || fail "message: $(cat err.txt)"
[ ! -e "$WORK/bad" ] && ! ls -d "$WORK"/bad.new.* 2>/dev/null ||
    fail "a refused import left files: $(ls -d "$WORK"/bad*)"
# Import over an existing TPM needs --overwrite; the TPM stays as it was.
before=$(snapshot_dir "$WORK/tc")
if "$TPMCRB" state import-swtpm --from "$SW" --state "$WORK/tc" 2> err.txt; then
    fail "import replaced a TPM without --overwrite"
fi
grep -q "already holds a TPM" err.txt || fail "message: $(cat err.txt)"
[ "$(snapshot_dir "$WORK/tc")" = "$before" ] || fail "a refused import changed $WORK/tc"
echo "swtpm state: both directions same EK/NV/PCRs, swtpm encryption read, bad input refused"
