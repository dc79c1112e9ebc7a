/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb vm --arch aarch64`: the guest on QEMU's arm virt machine.
 *
 * Only the patched QEMU (--device qemu) gives an arm64 guest a TPM it can
 * use: stock QEMU's virt machine offers tpm-tis-device, for which Debian's
 * arm64 kernel has no driver, and QEMU passes -acpitable to no ARM board,
 * so the shared-memory device could not be described either. On virt,
 * -device tpm-crb-device is a dynamic sysbus device: the platform bus chooses its
 * address and QEMU's ACPI builder describes it there (DSDT MSFT0101, TPM2
 * table with start method 7). ACPI reaches Linux only through UEFI
 * firmware (a bare -kernel boot gets a device tree), hence AAVMF.
 */
#ifndef TPMCRB_VM_ARM64_H
#define TPMCRB_VM_ARM64_H

#include "tools/vm/vm.h"
#include "tools/vm/vm_proc.h"
#include "tools/vm/vm_qemu.h"

#include <stdbool.h>

/* Debian's qemu-efi-aarch64: read-only code, and the variable store
 * template that QEMU copies on write (snapshot=on) for every run. */
#define VM_AAVMF_CODE "/usr/share/AAVMF/AAVMF_CODE.fd"
#define VM_AAVMF_VARS "/usr/share/AAVMF/AAVMF_VARS.fd"

/* Check and complete @o for an aarch64 guest: only --device qemu; start
 * method 7, the only one the board describes (@start_method_given: the
 * user chose one). Returns 0, or -1 after printing why. */
int vm_arm64_options(struct vm_options *o, bool start_method_given);

/* The whole QEMU command line for an aarch64 guest, argv[0] included
 * (vm_qemu_args() hands over to it). */
void vm_arm64_qemu_args(const struct vm_options *o, const struct vm_plan *p,
                        struct argv_list *a);

#endif
