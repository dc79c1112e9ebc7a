#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The device's properties, one boot each: Linux binds to the device as its
# ACPI tables describe it and runs TPM2_GetRandom and a PCR extend.
#   layout=compat,localities=1  the series' layout: buffer at 0x80, trapped
#   start-method=8              CRB with ACPI start (_DSM after START)
#   sync-bound-us=0             every command completes asynchronously
#   base=0xfed60000             another address (SeaBIOS looks only at the
#                               default one; Linux follows the ACPI tables)
#   mapping=mmio                every read traps too (what KVM on an Arm host
#                               gets): the drop-in layout with PPI, and the
#                               split layout, whose buffer page then traps
#                               as well
# layout=split with localities=5 and start-method=8 together boots in
# migrate.sh split (qemu-migrate-split), across a migration.
# Before the boots, QEMU's memory tree shows which mapping each setting gives.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QEMU=$(patched_qemu)
prepare_guest
cat >"$tmp/guest.sh" <<'EOF'
fail() { echo "GUEST-FAIL: $*"; exit 1; }
ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"
grep -i tpm /proc/iomem
tpm2_getrandom --hex 16 >/dev/null || fail "tpm2_getrandom"
tpm2_pcrextend 16:sha256=$(printf '%064x' 1) || fail "pcrextend"
echo "PCR16 $(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
tpmloop -n 200 /dev/tpm0 || fail "tpmloop"
EOF
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
qemu_base_args
expected=$(extend_chain 1)

for want in "romd:" "romd:mapping=auto" "romd:mapping=romd" "i/o:mapping=mmio" \
            "i/o:mapping=mmio,layout=split,ppi=off"; do
    got=$(register_mapping q35 "tpm-crb,tpmdev=tpm0,${want#*:}")
    [ "$got" = "${want%%:*}" ] || fail "tpm-crb,${want#*:}: registers mapped as '$got', expected ${want%%:*}"
done
say "mapping: TCG gives romd by default, mapping=mmio an I/O region"

# The opt-in layouts describe the device in its own ACPI tables, without
# PPI; the bound only changes how a START write waits.
for props in layout=split,ppi=off,mapping=mmio localities=5,ppi=off \
             start-method=8,ppi=off sync-bound-us=0 base=0xfed60000,ppi=off \
             mapping=mmio; do
    start=$SECONDS
    swtpm_for_qemu "$tmp/state"
    run_guest "$tmp/$props.log" 300 "${QEMU_ARGS[@]}" -initrd "$tmp/initrd" \
        "${TPM_ARGS[@]}" -device "tpm-crb,tpmdev=tpm0,$props" || { cat "$tmp/$props.log"; fail "$props: guest script failed"; }
    got=$(sed -n 's/^PCR16 \([0-9A-Fa-f]*\).*/\1/p' "$tmp/$props.log" | tr 'A-F' 'a-f')
    [ "$got" = "$expected" ] || fail "$props: PCR 16 is $got, expected $expected"
    say "$props: PASS ($((SECONDS - start)) s; $(grep -o 'rate=[0-9]*' "$tmp/$props.log") GetRandom/s on /dev/tpm0)"
done
say "PASS: all variants"
