#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A platform reset is a TPM reset: after system_reset the firmware measures
# into fresh PCRs (PCR 0 as in the first boot, not extended twice) and
# PCR 16, extended in the first boot, is zero again.
# QEMU runs with MALLOC_PERTURB_ set so that fresh heap memory is never
# zero: QEMU 10's PPI page used to start with whatever the heap held, and
# a set memory-overwrite bit in it wiped guest RAM at the reset (patch
# 0005); meson sets a random MALLOC_PERTURB_, which made that intermittent.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QEMU=$(patched_qemu)
prepare_guest
cat >"$tmp/guest.sh" <<'EOF'
pcr() { tpm2_pcrread sha256:$1 | sed -n "s/.*$1 *: *0x//p"; }
echo "BOOT PCR0=$(pcr 0) PCR16=$(pcr 16)"
tpm2_pcrextend 16:sha256=$(printf '%064x' 1) || exit 1
echo "EXTENDED PCR16=$(pcr 16)"
sleep 600
EOF
guest_initrd "$tmp/guest.sh" "$tmp/initrd"
qemu_base_args
args=()
for a in "${QEMU_ARGS[@]}"; do
    [ "$a" = -no-reboot ] || args+=("$a")   # a reset must reboot, not exit
done
swtpm_for_qemu "$tmp/state"
MALLOC_PERTURB_=2 "${args[@]}" -initrd "$tmp/initrd" "${TPM_ARGS[@]}" -device tpm-crb,id=tpm0,tpmdev=tpm0 \
    -qmp "unix:$tmp/qmp,server=on,wait=off" </dev/null >"$tmp/boot.log" 2>&1 &
qemu_pids+=($!)
wait_for_line "$tmp/boot.log" "^EXTENDED" 300 || { cat "$tmp/boot.log"; fail "first boot"; }
qmp "$tmp/qmp" '{"execute": "system_reset"}' >/dev/null
for _ in $(seq 120); do
    [ "$(grep -c '^BOOT ' "$tmp/boot.log")" -ge 2 ] && break
    sleep 1
done
qmp "$tmp/qmp" '{"execute": "quit"}' >/dev/null || true
grep '^BOOT \|^EXTENDED' "$tmp/boot.log" | tr -d '\r'
boots=$(grep '^BOOT ' "$tmp/boot.log" | tr -d '\r')
[ "$(wc -l <<<"$boots")" -eq 2 ] || {
    tail -c 2000 "$tmp/boot.log" | cat -v
    fail "the guest did not boot again"
}
first=$(sed -n 1p <<<"$boots") second=$(sed -n 2p <<<"$boots")
zero=$(printf '%064d' 0)
[ "$first" = "$second" ] || fail "PCRs after the reset differ from the first boot"
case $second in *"PCR0=$zero"*) fail "firmware measured nothing" ;; esac
case $second in *"PCR16=$zero") ;; *) fail "PCR 16 survived the reset" ;; esac
say "PASS: system_reset power-cycled the TPM (same PCR 0, PCR 16 zero)"
