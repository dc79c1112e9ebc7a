#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# OVMF (Debian's ovmf package: OVMF_CODE_4M.fd and a copy of
# OVMF_VARS_4M.fd as pflash) on the patched QEMU with -device tpm-crb on
# swtpm, in one QEMU process that reboots:
#   1. the firmware finds the CRB at 0xFED40000 (it writes its commands
#      byte by byte into the in-page buffer), measures into PCR 0 and leaves
#      an event log that Linux exposes;
#   2. PPI (ppi=on, the default, as in stock): Linux defines an NV index,
#      sets an owner password, asks the firmware for a TPM clear through
#      /sys/class/tpm/tpm0/ppi/request (operation 5) and reboots. OVMF
#      finds the request in QEMU's PPI page and asks for confirmation on
#      the console; the test answers with F12 (QMP send-key), OVMF clears
#      the TPM and resets. In the next boot Linux finds the index gone, the
#      owner password empty and ppi/response reporting operation 5 done.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

code=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -r "$code" ] && [ -r "$vars" ] || skip "Debian's ovmf package is not installed"

QEMU=$(patched_qemu)
prepare_guest
cp "$vars" "$tmp/vars.fd"

# Which boot it is comes from the PPI response: none before the first
# request, operation 5's once the firmware carried it out. A request still
# pending after the reboot means the firmware ignored it.
cat >"$tmp/guest.sh" <<'EOF'
fail() { echo "GUEST-FAIL: $*"; exit 1; }
ppi=/sys/class/tpm/tpm0/ppi
ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"
[ -r $ppi/request ] || fail "no PPI in sysfs"
response=$(cat $ppi/response) || fail "ppi/response"
request=$(cat $ppi/request) || fail "ppi/request"
echo "PPI-RESPONSE $response"
case $response in
5\ *)
    echo "BOOT cleared"
    tpm2_nvreadpublic 0x1500016 >/dev/null 2>&1 && fail "the NV index survived the clear"
    tpm2_changeauth -c owner other || fail "the owner password survived the clear"
    echo "CLEARED nv-gone owner-auth-empty"
    ;;
*)
    [ "$request" = 0 ] || fail "PPI request $request is still pending: the firmware ignored it"
    echo "BOOT first"
    echo "PCR0 $(tpm2_pcrread sha256:0 | sed -n 's/.*0 *: *0x//p')"
    echo "EVENTLOG $(wc -c < /sys/kernel/security/tpm0/binary_bios_measurements)"
    tpm2_nvdefine 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" || fail "nvdefine"
    tpm2_changeauth -c owner secret || fail "changeauth"
    tpm2_nvreadpublic 0x1500016 >/dev/null || fail "nvreadpublic"
    echo 5 > $ppi/request || fail "writing ppi/request"
    echo "PPI-REQUEST $(cat $ppi/request)"
    reboot -f
    sleep 60
    ;;
esac
EOF
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
qemu_base_args
# The PPI request lives in QEMU's PPI page: the guest must reboot inside
# this QEMU process.
args=()
for a in "${QEMU_ARGS[@]}"; do
    [ "$a" = -no-reboot ] || args+=("$a")
done
say "booting OVMF (slow under TCG), then PPI clear and two more boots"
start=$SECONDS
vm_start ovmf "${args[0]}" tpm-crb,id=tpm0,tpmdev=tpm0 "${args[@]:1}" \
    -initrd "$tmp/initrd" \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" \
    -drive "if=pflash,format=raw,unit=1,file=$tmp/vars.fd"
log=$tmp/ovmf.log
wait_for_line "$log" "^PPI-REQUEST" 600 || { cat "$log"; fail "the first boot did not request the clear"; }
grep -E '^(PCR0|EVENTLOG|PPI-)' "$log" | tr -d '\r'
say "first boot done after $((SECONDS - start)) s; waiting for OVMF's confirmation prompt"
# The prompt of the boot after the request (not anything printed before).
seen=$(wc -l <"$log")
for ((i = 0; i < 6000; i++)); do
    tail -n +"$seen" "$log" | grep F12 >/dev/null && break
    sleep 0.1
done
tail -n +"$seen" "$log" | grep F12 >/dev/null || { tail -n 40 "$log"; fail "OVMF did not ask to confirm the clear"; }
qmp "$tmp/ovmf.qmp" '{"execute": "send-key", "arguments": {"keys": [{"type": "qcode", "data": "f12"}]}}' >/dev/null
say "F12 sent"
timeout 600 tail --pid="$VM_PID" -f /dev/null || true
kill -0 "$VM_PID" 2>/dev/null && { tail -n 40 "$log"; fail "the guest did not finish"; }
say "three boots took $((SECONDS - start)) s"
grep -E '^(PPI-RESPONSE|BOOT|CLEARED)' "$log" | tr -d '\r'
grep -q '^TPMCRB-GUEST-EXIT=0' "$log" || { tail -n 40 "$log"; fail "guest script failed"; }

pcr0=$(val "$log" PCR0)
log_size=$(val "$log" EVENTLOG)
[ ${#pcr0} -eq 64 ] || fail "PCR 0 not read"
[ "$pcr0" != "$(printf '%064d' 0)" ] || fail "OVMF measured nothing into PCR 0"
[ "${log_size:-0}" -gt 0 ] || fail "binary_bios_measurements is empty"
say "OVMF measured into PCR 0 ($pcr0), event log $log_size bytes"
[ "$(grep -c '^BOOT ' "$log")" -eq 2 ] || fail "expected two Linux boots"
grep -q '^CLEARED nv-gone owner-auth-empty' "$log" || fail "the TPM was not cleared"
response=$(sed -n 's/^PPI-RESPONSE //p' "$log" | tr -d '\r' | tail -n 1)
case $response in
"5 0"*) ;;
*) fail "ppi/response after the clear is '$response', expected operation 5 with result 0" ;;
esac
say "PASS: OVMF carried out the PPI clear requested from Linux ($response)"
