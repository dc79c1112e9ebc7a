#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian packages tpmcrb needs to build, test and run its demo.
# Runs apt-get update only when something is missing; safe to run again.
set -euo pipefail

packages=(
    # build
    meson ninja-build pkg-config gcc libc6-dev libtpms-dev libcmocka-dev
    libtss2-dev libssl-dev
    # backends and their tests
    swtpm swtpm-tools tpm2-tools
    # ACPI table tests (iasl)
    acpica-tools
    # `tpmcrb vm`: QEMU, and the default guest (kernel fetched with
    # apt-get download; initramfs from busybox + tpm2-tools)
    qemu-system-x86 busybox-static apt dpkg gzip coreutils
    # savevm/loadvm needs a qcow2 disk (qemu-img)
    qemu-utils
    # tests/qemu/libvirt.sh: libvirtd with its QEMU driver and virsh, run
    # privately by the test (not libvirt-daemon-system: no system daemon is
    # installed or started)
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
    qemu-system-arm qemu-efi-aarch64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # arm64 guests (tests/arm64)
    # guest tests: pgrep
    procps
    # device overhead in instructions (callgrind)
    valgrind
    # firmware for the patched-QEMU tests (SeaBIOS comes with QEMU)
    ovmf
    # the manual pages are rendered by a test (tests/install)
    man-db groff-base
    # big-endian check (scripts/cross-s390x.sh): s390x cross compiler,
    # qemu-user, and the archive key its private apt setup verifies with
    gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user debian-archive-keyring
    # libFuzzer targets (scripts/fuzz.sh)
    clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
# A concurrent apt (another checkout's deps.sh, unattended-upgrades) is
# waited for, not failed on.
apt_get=$(dirname "${BASH_SOURCE[0]}")/guest/apt-get
$SUDO bash "$apt_get" update
$SUDO env DEBIAN_FRONTEND=noninteractive bash "$apt_get" install -y --no-install-recommends "${missing[@]}"
