#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# LoongArch virt with tpm-crb-device on its platform bus (patch 0011),
# checked by QEMU's bios-tables-test on the series' loongarch64-softmmu
# build: the machine's tables as they are (acpi/virt) and with
# tpm-crb-device (acpi/virt/tpm2-crb-device: the DSDT's TPM0 with its
# _CRS at the platform bus's base, the TPM2 table with start method 7 and
# the control area at base + 0x40), against the expected files of the
# patches (tests/data/acpi/loongarch64/virt/). QEMU 10 has no LoongArch
# firmware image, so the test loads the tables through fw_cfg as a
# firmware would (patch 0014); there is no Debian loong64 guest kernel
# either, so no boot test. The device itself is exercised by
# tpm-crb-layout-test (patch 0012) on that bus, against swtpm: reset
# values, command round trips, platform reset, with mapping=mmio and romd.
# loongarch64-softmmu is a build-qemu target set of its own (its own
# folder in the cache): the other QEMU tests never wait for it. A cold
# build of it takes long; ccache makes a rebuild after a patch change short.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v swtpm >/dev/null || skip "swtpm is not installed"
out=$(built_qemu_all --targets loongarch64-softmmu \
    --qtests bios-tables-test,tpm-crb-layout-test)
la=$(grep -m1 '/qemu-system-loongarch64$' <<<"$out") ||
    fail "no loongarch64 QEMU in: $out"
build=$(dirname "$la")

# Every LoongArch case is the series': run them all, and each by name.
run_qtest "$build" loongarch64 bios-tables-test
for case in /loongarch64/acpi/virt /loongarch64/acpi/virt/tpm2-crb-device; do
    grep -qE "^ok [0-9]+ $case\$" "$tmp/bios-tables-test-loongarch64.tap" ||
        fail "bios-tables-test: $case did not run"
done
run_qtest "$build" loongarch64 tpm-crb-layout-test
say "PASS"
