#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Every write, sync, rename and directory sync of the state store fails
# once, in turn (EIO and ENOSPC, through an LD_PRELOAD shim), during an
# NV write by tpm2-tools over `tpmcrb pipe`. Each time the client gets an
# error (the device's fatal status: TPM_RC_FAILURE), no temporary file is
# left, and the next start works. A fault before the NV file is replaced
# (its temporary's write or sync, the rename) leaves the NV file exactly
# as it was: the index reads the last acknowledged value. A fault after it
# (the directory sync, the volatile state's write) finds the new NV file
# complete in place: the index reads the new value or the old, and the
# next start is a power loss when the volatile state does not pair.
# usage: faults.sh FAULT-SHIM.so
. "$(dirname "$0")/../pipe/lib.sh"
SHIM=$1
[ -f "$SHIM" ] || fail "no fault shim at $SHIM"
# A sanitizer's runtime must come first in LD_PRELOAD (sanitizer builds).
PRELOAD="$(ldd "$TPMCRB" | awk '/lib(asan|tsan|ubsan)\.so/ { printf "%s ", $3 }')$SHIM"

IDX=0x1500022
NV=$STATE/tpm2-nv.state
t2 nvdefine "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail "nvdefine"
value=10000000
printf '%s' "$value" | t2 nvwrite "$IDX" -C o -i - || fail "first nvwrite"

# The value the index holds now, read without faults.
current() {
    t2 nvread "$IDX" -C o -s 8 2>read.err || fail "the next start failed: $(cat read.err)"
}

fired_total=0 before_replace=0
for err in EIO ENOSPC; do
    for op in write sync rename dirsync; do
        fired=0
        for at in $(seq 1 40); do
            new=$((value + 1))
            rm -f fault.log
            before=$(sha256_hex "$NV")
            faulty="cmd:env TPMCRB_FAULT_OP=$op TPMCRB_FAULT_AT=$at TPMCRB_FAULT_ERRNO=$err"
            faulty+=" TPMCRB_FAULT_LOG=$WORK/fault.log LD_PRELOAD='$PRELOAD' $TPMCRB pipe --state $STATE"
            status=0
            printf '%s' "$new" | timeout "$LIMIT" tpm2 nvwrite -T "$faulty" "$IDX" -C o -i - \
                2>fault.err || status=$?
            if [ ! -s fault.log ]; then
                # Past the last such call: the write went through.
                [ "$status" = 0 ] || fail "$op/$err #$at: failed without a fault: $(cat fault.err)"
                value=$new
                [ "$(current)" = "$value" ] || fail "$op/$err: reads $(current), wrote $value"
                break
            fi
            fired=$((fired + 1))
            [ "$status" != 0 ] || fail "$op/$err #$at: the client was told the write succeeded"
            msg=$([ "$err" = EIO ] && echo "Input/output error" || echo "No space left on device")
            grep -q "$msg" fault.err || fail "$op/$err #$at: the error is not reported: $(cat fault.err)"
            ls -A "$STATE" | grep -q '\.tmp$' && fail "$op/$err #$at: temporary left: $(ls -A "$STATE")"
            got=$(current)
            case $(cat fault.log) in
            *".tpm2-nv.state.tmp"|*"/tpm2-nv.state")
                # Before the NV file was replaced.
                [ "$(sha256_hex "$NV")" = "$before" ] ||
                    fail "$op/$err #$at: the NV file changed ($(cat fault.log))"
                [ "$got" = "$value" ] || fail "$op/$err #$at: reads $got, last good $value"
                before_replace=$((before_replace + 1));;
            *)
                [ "$got" = "$value" ] || [ "$got" = "$new" ] ||
                    fail "$op/$err #$at: reads $got: neither $value nor $new"
                value=$got;;
            esac
        done
        [ "$fired" -gt 0 ] || fail "$op/$err: no call of that kind was ever made"
        echo "$op/$err: $fired faults, each an error to the client, state intact"
        fired_total=$((fired_total + fired))
    done
done
# The strict case ran: faults on the NV file itself, for every errno and op
# but the directory sync (write, sync, rename).
[ "$before_replace" -ge 6 ] ||
    fail "only $before_replace faults hit the NV file before its replacement"
echo "ok ($fired_total injected faults, $before_replace of them before the NV file was replaced)"
