#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nested.sh TEST-KVM TPMCRB-KVM-VMM: the KVM tests where the host has no
# /dev/kvm, inside a QEMU TCG guest with nested SVM. Skipped where the host
# has /dev/kvm: the kvm test runs there directly.
set -euo pipefail
if [ -e /dev/kvm ] && [ -z "${TPMCRB_FORCE_NESTED:-}" ]; then
    echo "SKIP: the host has /dev/kvm; the kvm test runs there directly"
    exit 77
fi
exec bash "$TPMCRB_SRCDIR/examples/kvm-vmm/nested-test.sh" --timeout 600 \
    --bin "$1" --bin "$2" --run 'test-kvm && tpmcrb-kvm-vmm --quiet'
