#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Guards the claim that a Debian arm64 guest on stock QEMU 10 has no TPM.
# Stock qemu-system-aarch64 -machine virt (integrations/qemu/build-qemu
# --stock: the source the series patches, without it; or
# $TPMCRB_QEMU_STOCK_AARCH64) offers only tpm-tis-device (the
# TIS interface over MMIO); with swtpm behind it, AAVMF finds it and
# measures (the EFI system table lists a TPM event log, the EFI stub
# measures the initrd), QEMU describes it in ACPI (TPM2 table, MSFT0101
# device), but Debian's arm64 kernel has tpm_crb and no TIS driver, so
# nothing binds: no /dev/tpm0, and IMA reports "No TPM chip found".
# If this test ever fails, Debian or QEMU changed and the README's ARM
# section needs another look.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_aavmf
command -v swtpm >/dev/null || skip "swtpm is not installed (scripts/deps.sh installs it)"
QEMU=$(stock_qemu_aarch64)
devices=$("$QEMU" -machine virt -device help) || fail "$QEMU does not run"
grep -q '"tpm-tis-device"' <<<"$devices" || fail "$QEMU has no tpm-tis-device"
! grep -q '"tpm-crb' <<<"$devices" ||
    fail "$QEMU has a CRB device of its own: the README's ARM section needs another look"
prepare_guest_arm64

cat >"$tmp/guest.sh" <<'EOF'
dmesg | grep -iE 'tpm|efi:'
# Firmware side: the event log AAVMF left in the EFI configuration table.
dmesg | grep 'TPMEventLog=' >/dev/null && echo "EFI-EVENTLOG yes"
[ -e /sys/firmware/acpi/tables/TPM2 ] && echo "ACPI-TPM2 yes"
for d in /sys/bus/acpi/devices/MSFT0101:*; do
    [ -e "$d" ] || continue
    echo "ACPI-DEVICE $(basename "$d")"
    [ -e "$d/physical_node/driver" ] &&
        echo "BOUND $(basename "$(readlink "$d/physical_node/driver")")"
done
# Which TPM drivers this kernel has at all (all built in on Debian).
echo "DRIVERS $(for d in /sys/bus/*/drivers/tpm*; do [ -e "$d" ] && basename "$d"; done | sort -u | paste -sd, -)"
[ -e /dev/tpm0 ] && echo "DEV-TPM0 yes" || echo "DEV-TPM0 no"
[ -e /dev/tpmrm0 ] && echo "DEV-TPMRM0 yes" || echo "DEV-TPMRM0 no"
dmesg | grep 'No TPM chip found' >/dev/null && echo "NO-TPM-CHIP yes"
exit 0
EOF
guest_initrd "$tmp/guest.sh" "$tmp/initrd"

mkdir -p "$tmp/swtpm"
swtpm socket --tpm2 --tpmstate "dir=$tmp/swtpm" \
    --ctrl "type=unixio,path=$tmp/swtpm.sock" --terminate &
qemu_pids+=("$!")
for _ in $(seq 100); do [ -S "$tmp/swtpm.sock" ] && break; sleep 0.1; done
[ -S "$tmp/swtpm.sock" ] || fail "swtpm did not start"

arm64_qemu_args "$QEMU"
say "stock $("$QEMU" --version | head -n 1) ($QEMU)"
say "booting AAVMF + tpm-tis-device + swtpm"
start=$SECONDS
run_guest "$tmp/boot.log" 600 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd" \
    -chardev "socket,id=chrtpm,path=$tmp/swtpm.sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm \
    -device tpm-tis-device,tpmdev=tpm0 || { cat "$tmp/boot.log"; fail "guest script failed"; }
say "boot took $((SECONDS - start)) s"
grep -aE '^(EFI-|ACPI-|BOUND|DRIVERS|DEV-|NO-TPM)|No TPM|TPMEventLog' "$tmp/boot.log" | tr -d '\r'

log=$tmp/boot.log
[ "$(val "$log" EFI-EVENTLOG)" = yes ] ||
    fail "AAVMF left no TPM event log: it did not find the TIS device (the comparison is void)"
[ "$(val "$log" ACPI-TPM2)" = yes ] || fail "QEMU's ACPI has no TPM2 table"
[ -n "$(val "$log" ACPI-DEVICE)" ] || fail "QEMU's ACPI has no MSFT0101 device"
bound=$(val "$log" BOUND)
[ -z "$bound" ] || fail "a driver ($bound) bound the TIS device: stock QEMU does give arm64 guests a TPM now"
[ "$(val "$log" DEV-TPM0)" = no ] && [ "$(val "$log" DEV-TPMRM0)" = no ] ||
    fail "the guest has a TPM character device on stock QEMU"
[ "$(val "$log" NO-TPM-CHIP)" = yes ] || fail "no 'No TPM chip found' from IMA"
say "drivers in the guest kernel: $(val "$log" DRIVERS)"
say "PASS: AAVMF measured into the TIS TPM, Linux found no TPM (no /dev/tpm0)"
