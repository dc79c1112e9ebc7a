/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_qemu.h"
#include "tools/vm/vm_patched_qemu.h"

#include <inttypes.h>
#include <stdio.h>

#define MIB             ((uint64_t)1024 * 1024)
/* q35 keeps guest RAM below 4 GiB up to this much (more when the machine
 * has less than 2.75 GiB); only there is the memory backend's file offset
 * equal to the guest-physical address. */
#define Q35_LOW_RAM_MIN (2048 * MIB)
#define TPM_ALIGN       (2 * MIB)

uint64_t vm_tpm_base(uint64_t ram_bytes)
{
    uint64_t low = ram_bytes < Q35_LOW_RAM_MIN ? ram_bytes : Q35_LOW_RAM_MIN;
    return (low / 2) & ~(TPM_ALIGN - 1);
}

const char *vm_qemu_accel(const struct vm_options *o)
{
    return o->accel ? o->accel : "tcg";
}

void vm_qemu_add_head(const struct vm_options *o, const struct vm_plan *p,
                      struct argv_list *a)
{
    argv_add(a, o->qemu ? o->qemu : vm_arch_qemu(o->arch));
    argv_add(a, "-accel");
    argv_add(a, vm_qemu_accel(o));
    argv_add(a, "-m");
    argv_addf(a, "%" PRIu64 "M", p->ram_bytes / MIB);
}

void vm_qemu_add_kernel(const struct vm_options *o, const struct vm_plan *p,
                        const char *console, const char *more,
                        struct argv_list *a)
{
    argv_add(a, "-kernel");
    argv_add(a, p->kernel);
    argv_add(a, "-initrd");
    argv_add(a, p->initrd);
    argv_add(a, "-append");
    /* panic=-1 with -no-reboot: a guest that panics ends QEMU at once. */
    argv_addf(a, "console=%s panic=-1 quiet%s%s%s", console, more,
              o->append ? " " : "", o->append ? o->append : "");
}

void vm_qemu_add_tail(const struct vm_options *o, struct argv_list *a)
{
    argv_add(a, "-nographic");
    argv_add(a, "-no-reboot");
    argv_add(a, "-nic");
    argv_add(a, "none");
    for (int i = 0; i < o->n_extra; i++)
        argv_add(a, o->extra_args[i]);
}

static void add_x86_kernel(const struct vm_options *o, const struct vm_plan *p,
                           struct argv_list *a)
{
    char memmap[64] = "";

    /* memmap=SIZE$BASE marks the range reserved in the e820 map: the
     * kernel never allocates it, and tpm_crb may map it as device memory. */
    if (o->device == VM_DEVICE_SHM)
        snprintf(memmap, sizeof(memmap), " memmap=0x%" PRIx64 "$0x%" PRIx64,
                 p->tpm_reserved, p->tpm_base);
    vm_qemu_add_kernel(o, p, "ttyS0", memmap, a);
}

static void add_shm_device(const struct vm_plan *p, struct argv_list *a)
{
    /* /proc/self/fd/N in QEMU is our memfd: nothing to remove afterwards,
     * whatever way either process ends. */
    argv_add(a, "-object");
    argv_addf(a, "memory-backend-file,id=ram,size=%" PRIu64 ","
              "mem-path=/proc/self/fd/%d,share=on", p->ram_bytes, p->ram_fd);
    argv_add(a, "-machine");
    argv_add(a, "q35,memory-backend=ram");
    argv_add(a, "-acpitable");
    argv_addf(a, "file=%s", p->tpm2_aml);
    argv_add(a, "-acpitable");
    argv_addf(a, "file=%s", p->ssdt_aml);
}

void vm_qemu_tpmdev_args(const struct vm_plan *p, struct argv_list *a)
{
    argv_add(a, "-chardev");
    argv_addf(a, "socket,id=chrtpm,path=%s", p->swtpm_sock);
    argv_add(a, "-tpmdev");
    argv_add(a, "emulator,id=tpm0,chardev=chrtpm");
}

static void add_stock_device(const struct vm_plan *p, struct argv_list *a)
{
    argv_add(a, "-machine");
    argv_add(a, "q35");
    vm_qemu_tpmdev_args(p, a);
    argv_add(a, "-device");
    argv_add(a, "tpm-crb,tpmdev=tpm0");
}

/* The machine's firmware (bookworm's SeaBIOS and option ROMs) for every
 * x86 QEMU: build-qemu's builds, patched or stock, install none of their
 * own, and a comparison runs the same firmware on each side. */
static void add_x86_firmware_path(struct argv_list *a)
{
    argv_add(a, "-L");
    argv_add(a, "/usr/share/seabios");
    argv_add(a, "-L");
    argv_add(a, "/usr/share/qemu");
}

/* No default devices: q35's empty CD-ROM on its AHCI controller makes
 * bookworm's SeaBIOS 1.16.2 under QEMU 10 wait out its whole AHCI command
 * timeout at every boot. The console stays the serial port on stdio. */
static void add_x86_no_defaults(struct argv_list *a)
{
    argv_add(a, "-nodefaults");
    argv_add(a, "-serial");
    argv_add(a, "mon:stdio");
}

void vm_qemu_x86_args(const struct vm_options *o, const struct vm_plan *p,
                      struct argv_list *a)
{
    vm_qemu_add_head(o, p, a);
    add_x86_firmware_path(a);
    add_x86_no_defaults(a);
    if (o->device == VM_DEVICE_SHM)
        add_shm_device(p, a);
    else if (o->device == VM_DEVICE_QEMU_STOCK)
        add_stock_device(p, a);
    else
        vm_patched_qemu_args(o, p, a);
    add_x86_kernel(o, p, a);
    vm_qemu_add_tail(o, a);
}
