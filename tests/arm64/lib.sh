# SPDX-License-Identifier: BSD-3-Clause
# Shared by the arm64 tests: the default arm64 guest
# (scripts/guest/prepare-arm64.sh) on QEMU's virt machine with AAVMF.
# Builds on tests/qemu/lib.sh (temporary folder, guest_initrd, run_guest,
# extend_chain). Sourced by bash scripts that set -euo pipefail.
. "$(dirname "${BASH_SOURCE[0]}")/../qemu/lib.sh"

AAVMF_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
AAVMF_VARS=/usr/share/AAVMF/AAVMF_VARS.fd

# The firmware: every arm64 test boots AAVMF (ACPI reaches Linux only
# through it).
require_aavmf() {
    [ -r "$AAVMF_CODE" ] && [ -r "$AAVMF_VARS" ] ||
        skip "AAVMF is not installed (scripts/deps.sh: qemu-efi-aarch64)"
}

# KERNEL and INITRD of the default arm64 guest; skips when the arm64
# packages cannot be had (prepare-arm64.sh exits 3).
prepare_guest_arm64() {
    local out rc=0
    out=$(bash "$src/scripts/guest/prepare-arm64.sh" 2>"$tmp/prepare-arm64.log") || rc=$?
    if [ "$rc" -eq 3 ]; then
        cat "$tmp/prepare-arm64.log"
        skip "the arm64 guest packages cannot be had here"
    fi
    [ "$rc" -eq 0 ] || { cat "$tmp/prepare-arm64.log"; fail "prepare-arm64.sh failed"; }
    KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$out")
    INITRD=$(sed -n 's/^INITRD=//p' <<<"$out")
    [ -s "$KERNEL" ] && [ -s "$INITRD" ] || fail "no arm64 guest kernel/initramfs"
}

# arm64_qemu_args QEMU: the virt machine under TCG with AAVMF (read-only
# code, a writable copy of the variable store, each a 64 MiB pflash) and
# the guest kernel, into QEMU_ARGS. ACPI reaches Linux only through the
# firmware: a -kernel boot without it gets a device tree, which describes
# no TPM. The variable store is this test's own and lasts all its boots.
arm64_qemu_args() {
    [ -f "$tmp/AAVMF_VARS.fd" ] || cp "$AAVMF_VARS" "$tmp/AAVMF_VARS.fd"
    QEMU_ARGS=("$1" -machine virt -cpu cortex-a57 -accel tcg -m 512M
               -nographic -no-reboot -nic none
               -drive "if=pflash,format=raw,unit=0,readonly=on,file=$AAVMF_CODE"
               -drive "if=pflash,format=raw,unit=1,file=$tmp/AAVMF_VARS.fd"
               -kernel "$KERNEL" -append "console=ttyAMA0 panic=-1 quiet")
}

# The patched qemu-system-aarch64: $TPMCRB_QEMU_PATCHED_AARCH64, or the one
# integrations/qemu/build-qemu prints (built on first use with the x86_64 one, same
# patches, same cache). A machine that cannot fetch Debian's source skips.
patched_qemu_aarch64() {
    if [ -n "${TPMCRB_QEMU_PATCHED_AARCH64:-}" ]; then
        echo "$TPMCRB_QEMU_PATCHED_AARCH64"
        return
    fi
    built_qemu_aarch64
}

# The same QEMU 10 source without the series: $TPMCRB_QEMU_STOCK_AARCH64, or
# the qemu-system-aarch64 of integrations/qemu/build-qemu --stock.
stock_qemu_aarch64() {
    if [ -n "${TPMCRB_QEMU_STOCK_AARCH64:-}" ]; then
        echo "$TPMCRB_QEMU_STOCK_AARCH64"
        return
    fi
    built_qemu_aarch64 --stock
}

# built_qemu_aarch64 [--stock]: build-qemu's qemu-system-aarch64.
built_qemu_aarch64() {
    local out bin
    if ! out=$("$src/integrations/qemu/build-qemu" "$@" 2>"$tmp/build-qemu.log"); then
        cat "$tmp/build-qemu.log"
        if grep -q "apt knows no qemu source\|apt-get source .* failed" "$tmp/build-qemu.log"; then
            skip "Debian's qemu source is not available here"
        fi
        fail "integrations/qemu/build-qemu $* failed"
    fi
    bin=$(grep '/qemu-system-aarch64$' <<<"$out" | head -n 1)
    [ -n "$bin" ] || fail "integrations/qemu/build-qemu $* built no qemu-system-aarch64 (its targets lack aarch64-softmmu)"
    echo "$bin"
}

# run_vm_arm64 LOG TIMEOUT ARGS...: `tpmcrb vm --device qemu --arch aarch64` with
# the given options (--guest-script ...); its exit status is the guest
# script's. The console goes to LOG.
run_vm_arm64() {
    local log=$1 limit=$2 rc=0
    shift 2
    timeout -k 10 "$limit" "$TPMCRB" vm --device qemu --arch aarch64 \
        --qemu "$QEMU" "$@" </dev/null >"$log" 2>&1 || rc=$?
    if ! grep -q '^TPMCRB-GUEST-EXIT=' "$log"; then
        tail -n 40 "$log"
        fail "the guest reported no exit status ($log, tpmcrb vm exited $rc)"
    fi
    return "$rc"
}

