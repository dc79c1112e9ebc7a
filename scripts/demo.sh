#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The README demo: install what is needed, build, and boot Linux under QEMU
# with a tpmcrb TPM. The guest shows what its tpm_crb driver printed, asks
# the TPM for random bytes and reads PCR 10, which IMA extended while the
# guest booted, then powers off.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}

bash "$root/scripts/deps.sh"
[ -f "$build/build.ninja" ] || meson setup "$build" "$root"
ninja -C "$build"

script=$(mktemp "${TMPDIR:-/tmp}/tpmcrb-demo.XXXXXX")
trap 'rm -f "$script"' EXIT
cat > "$script" <<'GUEST'
echo
echo "### dmesg | grep -i tpm"
dmesg | grep -i -e tpm -e MSFT0101
echo
echo "### tpm2 getrandom --hex 16"
tpm2 getrandom --hex 16
echo
echo
echo "### IMA: $(wc -l < /sys/kernel/security/ima/ascii_runtime_measurements) measurements into PCR 10, the first ones:"
head -n 4 /sys/kernel/security/ima/ascii_runtime_measurements
echo
echo "### tpm2 pcrread sha256:10"
tpm2 pcrread sha256:10
GUEST

# ima_policy=tcb measures every program the guest runs; the initramfs is
# unpacked into ramfs rather than tmpfs, which that policy does not measure.
exec_status=0
"$build/src/tools/tpmcrb" vm --append "ima_policy=tcb rootfstype=ramfs" \
    --guest-script "$script" "$@" || exec_status=$?
exit "$exec_status"
