/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb vm --device qemu`: the guest on Debian's QEMU patched with the
 * tpmcrb device (integrations/qemu) in trap mode: the register pages are a
 * ROM device inside QEMU, writes trap into libtpmcrb, the device builds its
 * own ACPI tables and SeaBIOS or OVMF measure into it. */
#ifndef TPMCRB_VM_PATCHED_QEMU_H
#define TPMCRB_VM_PATCHED_QEMU_H

#include "tools/vm/vm.h"
#include "tools/vm/vm_proc.h"

/* QOM path of the device that vm_patched_qemu_args() adds, for qom-get of
 * its statistics (commands, completed-sync, writes, errors). */
#define VM_PATCHED_QEMU_DEVICE_PATH "/machine/peripheral/tpm0"

/* The patched qemu-system-x86_64: $TPMCRB_QEMU_PATCHED, or the path that
 * integrations/qemu/build-qemu prints (it builds QEMU on first use, which takes
 * minutes, and reuses the cached build afterwards). Returns a malloc'd
 * path, or NULL after printing why. */
char *vm_patched_qemu_binary(void);
/* The same for @arch: $TPMCRB_QEMU_PATCHED (x86_64) or
 * $TPMCRB_QEMU_PATCHED_AARCH64, or integrations/qemu/build-qemu's line that names
 * qemu-system-<arch>. */
char *vm_patched_qemu_binary_arch(enum vm_arch arch);

/* QEMU arguments for an x86 guest: the q35 machine, the firmware search
 * path (the patched build installs no firmware of its own) and the device
 * (vm_patched_qemu_device_args()). */
void vm_patched_qemu_args(const struct vm_options *o, struct argv_list *a);

/* -device tpmcrb,id=tpm0 with @o's backend, state directory, layout,
 * localities and start method; the default base. */
void vm_patched_qemu_device_args(const struct vm_options *o,
                                 struct argv_list *a);

#endif
