/* SPDX-License-Identifier: BSD-3-Clause */
/* The QEMU command line of `tpmcrb vm`, and where the device goes in guest
 * RAM. */
#ifndef TPMCRB_VM_QEMU_H
#define TPMCRB_VM_QEMU_H

#include "tools/vm/vm.h"
#include "tools/vm/vm_proc.h"

#include <stdint.h>

/* What the run prepared for QEMU. */
struct vm_plan {
    uint64_t ram_bytes;
    const char *kernel;
    const char *initrd;
    /* shm device */
    int ram_fd;                 /* memfd of guest RAM, inherited by QEMU */
    uint64_t tpm_base;          /* guest-physical == offset in ram_fd */
    uint64_t tpm_reserved;      /* bytes hidden from the guest (memmap=) */
    const char *tpm2_aml;
    const char *ssdt_aml;
    /* stock device */
    const char *swtpm_sock;
    /* the patched device's embedded libtpms TPM: its state directory */
    const char *libtpms_state;
};

/* Where the device window goes in @ram_bytes of guest RAM: in the middle
 * of low RAM, 2 MiB aligned. Not at the top, where QEMU loads the initrd
 * and SeaBIOS keeps its tables; not at 16 MiB, where the kernel goes
 * without KASLR (with KASLR the decompressor avoids memmap= ranges). */
uint64_t vm_tpm_base(uint64_t ram_bytes);

/* Pieces of every architecture's command line. The head: the binary
 * (@o->qemu, else the architecture's), the accelerator and the RAM. */
void vm_qemu_add_head(const struct vm_options *o, const struct vm_plan *p,
                      struct argv_list *a);
/* The accelerator: @o->accel, else tcg. */
const char *vm_qemu_accel(const struct vm_options *o);
/* The kernel, the initramfs and their command line: @console, the
 * architecture's arguments in @more ("" or starting with a blank), then
 * the user's. */
void vm_qemu_add_kernel(const struct vm_options *o, const struct vm_plan *p,
                        const char *console, const char *more,
                        struct argv_list *a);
/* No display, no reboot, no network, then the user's extra arguments. */
void vm_qemu_add_tail(const struct vm_options *o, struct argv_list *a);
/* -chardev and -tpmdev emulator (id tpm0) for the swtpm on p->swtpm_sock. */
void vm_qemu_tpmdev_args(const struct vm_plan *p, struct argv_list *a);

/* The whole command line of an x86_64 guest (q35), argv[0] included; an
 * arm64 guest's is vm_arm64_qemu_args(). */
void vm_qemu_x86_args(const struct vm_options *o, const struct vm_plan *p,
                      struct argv_list *a);

#endif
