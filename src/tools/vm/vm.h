/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running a Linux guest under an unmodified QEMU with a TPM (docs/design.md, "Running under QEMU"):
 * the engine behind `tpmcrb vm` and `tpmcrb bench vm`.
 *
 * VM_DEVICE_SHM: guest RAM is a memfd shared with QEMU; the tpmcrb device
 * lives in a page range of it that the guest kernel is told to leave alone
 * (memmap=), served by the poll transport, described by our ACPI tables.
 * VM_DEVICE_QEMU_STOCK: QEMU's own tpm-crb with an swtpm child, for
 * comparison (same kernel, same initramfs).
 */
#ifndef TPMCRB_VM_H
#define TPMCRB_VM_H

#include "tpmcrb.h"

#include <sys/types.h>

/* VM_DEVICE_QEMU_PATCHED: -device tpm-crb (tpm-crb-device on arm64) in QEMU patched by
 * integrations/qemu (trap mode); see vm_patched_qemu.h. */
enum vm_device { VM_DEVICE_SHM, VM_DEVICE_QEMU_STOCK, VM_DEVICE_QEMU_PATCHED };

/* The guest's architecture; aarch64 runs on the virt machine with the
 * patched QEMU only (see vm_arm64.h). */
enum vm_arch { VM_ARCH_X86_64, VM_ARCH_AARCH64 };

struct vm_options {
    enum vm_device device;
    enum vm_arch arch;         /* default x86_64 */
    const char *qemu;          /* binary (PATH lookup); NULL: qemu-system-x86_64 */
    const char *accel;         /* QEMU -accel; NULL: tcg */
    const char *kernel;        /* NULL: the default guest's */
    const char *initrd;        /* NULL: the default guest's */
    const char *append;        /* extra kernel command line, or NULL */
    const char *script;        /* guest script text; NULL: interactive shell */
    unsigned memory_mb;
    /* Device (shm mode). */
    const char *backend;       /* tpmcrb_backend_open() spec, NULL: libtpms */
    const char *state_dir;     /* NULL: no persistence (temporary for swtpm) */
    const char *key;           /* --key spec (state_key.h), or NULL */
    unsigned start_method;     /* 7 or 8 */
    enum tpmcrb_layout layout;
    unsigned localities;       /* 1 or 5 */
    /* VM_DEVICE_QEMU_PATCHED only: the TPM is libtpmcrb's embedded libtpms
     * inside QEMU (tpm-crb's libtpms-state=DIR, a build-qemu
     * --embedded-libtpms build) on state_dir or a temporary directory; no
     * swtpm. */
    bool embedded_libtpms;
    char **extra_args;         /* appended to QEMU's command line */
    int n_extra;
    /* Guest console: copied to console_fd (-1: dropped) and handed line
     * by line to on_line (may be NULL). Unused in interactive mode, where
     * QEMU owns the terminal. */
    int console_fd;
    void (*on_line)(void *opaque, const char *line);
    void *opaque;
};

/* --arch values: x86_64, aarch64 (arm64 is taken too). */
bool vm_arch_parse(const char *name, enum vm_arch *arch);
const char *vm_arch_name(enum vm_arch arch);
/* QEMU's binary for @arch: qemu-system-x86_64, qemu-system-aarch64. */
const char *vm_arch_qemu(enum vm_arch arch);
/* The default guest's preparation script in scripts/guest. */
const char *vm_arch_prepare_script(enum vm_arch arch);

/* Defaults: shm device, libtpms, start method 8, split layout, five
 * localities, 512 MiB, console on stdout. */
void vm_options_init(struct vm_options *o);

struct vm_result {
    int guest_exit;   /* status the guest script reported; -1 if none */
    int qemu_status;  /* waitpid() status of QEMU */
    int signal;       /* SIGINT/SIGTERM that stopped the run, or 0 */
};

/* Run the VM to its end. Returns 0 when QEMU ran and exited (see @r for
 * how), or -1 after printing why it could not. Everything it created (shared
 * memory, temporary files, child processes) is gone when it returns. */
int vm_run(const struct vm_options *o, struct vm_result *r);

/* The marker line the guest's /init prints after the script. */
#define VM_GUEST_EXIT_MARKER "TPMCRB-GUEST-EXIT="

#endif
