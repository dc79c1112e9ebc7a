/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb vm --device qemu`: the guest on QEMU 10 patched with the tpmcrb
 * series (integrations/qemu) in trap mode: tpm-crb's register pages are a
 * ROM device inside QEMU, writes trap into libtpmcrb, and the commands run
 * on swtpm behind QEMU's -tpmdev emulator. */
#ifndef TPMCRB_VM_PATCHED_QEMU_H
#define TPMCRB_VM_PATCHED_QEMU_H

#include "tools/vm/vm.h"
#include "tools/vm/vm_proc.h"
#include "tools/vm/vm_qemu.h"

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
/* The series built with its embedded libtpms TPM (build-qemu
 * --embedded-libtpms): $TPMCRB_QEMU_EMBEDDED or build-qemu's. */
char *vm_embedded_qemu_binary(void);
/* The same QEMU source built without the series (build-qemu --stock), the
 * baseline of the comparisons: $TPMCRB_QEMU_STOCK or build-qemu's. */
char *vm_stock_qemu_binary(void);

/* QEMU arguments for an x86 guest: the q35 machine and the device
 * (vm_patched_qemu_device_args()). */
void vm_patched_qemu_args(const struct vm_options *o, const struct vm_plan *p,
                          struct argv_list *a);

/* -tpmdev for the swtpm on p->swtpm_sock and -device tpm-crb (x86) or
 * tpm-crb-device (arm64) on it, id tpm0, with @o's layout, localities and
 * start method; with p->libtpms_state no -tpmdev, and the device's
 * embedded TPM on that directory. */
void vm_patched_qemu_device_args(const struct vm_options *o,
                                 const struct vm_plan *p, struct argv_list *a);

#endif
