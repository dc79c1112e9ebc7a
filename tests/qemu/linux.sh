#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Linux on the patched QEMU with -device tpmcrb (trap mode), SeaBIOS:
#   boot 1: tpm_crb binds, tpm2 getrandom works, PCR 16 after three
#           extends equals the value computed here, SeaBIOS measured into
#           PCR 0 and left an event log, an NV index is written;
#   boot 2 (same state directory): the NV index still holds the data and
#           PCR 16 is back to zero (a new boot resets the TPM).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QEMU=$(patched_qemu)
prepare_guest
say "qemu: $QEMU"
mkdir -p "$tmp/state"
nv_data=tpmcrb-nv-$RANDOM$RANDOM

cat >"$tmp/boot1.sh" <<EOF
fail() { echo "GUEST-FAIL: \$*"; exit 1; }
dmesg | grep -i tpm
[ -c /dev/tpm0 ] && [ -c /dev/tpmrm0 ] || fail "no /dev/tpm0 or /dev/tpmrm0"
ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"
r=\$(tpm2_getrandom --hex 16) || fail "tpm2_getrandom"
echo "RANDOM \$r"
echo "PCR0 \$(tpm2_pcrread sha256:0 | sed -n 's/.*0 *: *0x//p')"
echo "EVENTLOG \$(wc -c < /sys/kernel/security/tpm0/binary_bios_measurements)"
for i in 1 2 3; do
    tpm2_pcrextend 16:sha256=\$(printf '%064x' \$i) || fail "pcrextend \$i"
done
echo "PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
tpm2_nvdefine 0x1500016 -C o -s ${#nv_data} -a "ownerread|ownerwrite" || fail "nvdefine"
printf '%s' "$nv_data" > /tmp/nv
tpm2_nvwrite 0x1500016 -C o -i /tmp/nv || fail "nvwrite"
echo "NV written"
EOF

cat >"$tmp/boot2.sh" <<EOF
fail() { echo "GUEST-FAIL: \$*"; exit 1; }
echo "NVREAD \$(tpm2_nvread 0x1500016 -C o -s ${#nv_data})"
echo "PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
tpm2_nvundefine 0x1500016 -C o || fail "nvundefine"
EOF

device="tpmcrb,id=tpm0,state-dir=$tmp/state"

say "boot 1"
guest_initrd "$tmp/boot1.sh" "$tmp/initrd1"
qemu_base_args
start=$SECONDS
run_guest "$tmp/boot1.log" 300 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd1" \
    -device "$device" || { cat "$tmp/boot1.log"; fail "boot 1 script failed"; }
say "boot 1 took $((SECONDS - start)) s"
grep -E '^(RANDOM|PCR|EVENTLOG|NV)' "$tmp/boot1.log" | tr -d '\r'

val() { sed -n "s/^$2 \\([^[:space:]]*\\).*/\\1/p" "$1" | tr -d '\r' | tail -n 1; }
[ "$(val "$tmp/boot1.log" RANDOM | wc -c)" -eq 33 ] || fail "tpm2_getrandom gave no 16 bytes"
pcr0=$(val "$tmp/boot1.log" PCR0)
[ ${#pcr0} -eq 64 ] || fail "PCR 0 not read"
[ "$pcr0" != "$(printf '%064d' 0)" ] || fail "SeaBIOS measured nothing into PCR 0"
[ "$(val "$tmp/boot1.log" EVENTLOG)" -gt 0 ] || fail "binary_bios_measurements is empty"
expected=$(extend_chain 3)
got=$(val "$tmp/boot1.log" PCR16 | tr 'A-F' 'a-f')
[ "$got" = "$expected" ] || fail "PCR 16 is $got, expected $expected"
say "PCR 0 $pcr0 (SeaBIOS), PCR 16 matches the host: $expected"

say "boot 2 (same state directory)"
guest_initrd "$tmp/boot2.sh" "$tmp/initrd2"
run_guest "$tmp/boot2.log" 300 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd2" \
    -device "$device" || { cat "$tmp/boot2.log"; fail "boot 2 script failed"; }
grep -E '^(NVREAD|PCR)' "$tmp/boot2.log" | tr -d '\r'
[ "$(val "$tmp/boot2.log" NVREAD)" = "$nv_data" ] || fail "NV data did not persist"
[ "$(val "$tmp/boot2.log" PCR16)" = "$(printf '%064d' 0)" ] || fail "PCR 16 survived a reboot"
say "PASS: driver, getrandom, PCR extend, SeaBIOS measurements, NV persistence"
