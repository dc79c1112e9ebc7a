#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# OVMF (Debian's ovmf package: OVMF_CODE_4M.fd and a copy of
# OVMF_VARS_4M.fd as pflash) on the patched QEMU with -device tpm-crb on swtpm: the
# firmware finds the CRB at 0xFED40000 (it writes its commands byte by byte
# into the in-page buffer, every byte a trapped write), measures into
# PCR 0 and leaves an event log that Linux exposes.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

code=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -r "$code" ] && [ -r "$vars" ] || skip "Debian's ovmf package is not installed"

QEMU=$(patched_qemu)
prepare_guest
cp "$vars" "$tmp/vars.fd"

cat >"$tmp/guest.sh" <<'EOF'
fail() { echo "GUEST-FAIL: $*"; exit 1; }
ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"
echo "PCR0 $(tpm2_pcrread sha256:0 | sed -n 's/.*0 *: *0x//p')"
echo "EVENTLOG $(wc -c < /sys/kernel/security/tpm0/binary_bios_measurements)"
EOF
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
qemu_base_args
say "booting OVMF (slow under TCG)"
start=$SECONDS
swtpm_for_qemu "$tmp/state"
run_guest "$tmp/boot.log" 600 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd" \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" \
    -drive "if=pflash,format=raw,unit=1,file=$tmp/vars.fd" \
    "${TPM_ARGS[@]}" -device tpm-crb,tpmdev=tpm0 || { cat "$tmp/boot.log"; fail "guest script failed"; }
say "boot took $((SECONDS - start)) s"
grep -E '^(PCR0|EVENTLOG)' "$tmp/boot.log" | tr -d '\r'

pcr0=$(sed -n 's/^PCR0 \([0-9A-Fa-f]*\).*/\1/p' "$tmp/boot.log" | tail -n 1)
log_size=$(sed -n 's/^EVENTLOG \([0-9]*\).*/\1/p' "$tmp/boot.log" | tail -n 1)
[ ${#pcr0} -eq 64 ] || fail "PCR 0 not read"
[ "$pcr0" != "$(printf '%064d' 0)" ] || fail "OVMF measured nothing into PCR 0"
[ "${log_size:-0}" -gt 0 ] || fail "binary_bios_measurements is empty"
say "PASS: OVMF measured into PCR 0 ($pcr0), event log $log_size bytes"
