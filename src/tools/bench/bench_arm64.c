/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench arm64`: guest TPM2_GetRandom(32) loops through /dev/tpm0
 * and /dev/tpmrm0 with the patched QEMU's -device tpm-crb-device (trap mode,
 * embedded libtpms, TPM2 start method 7) on
 *   x86_64   q35, SeaBIOS, the device at 0xFED40000, described by itself;
 *   aarch64  virt, cortex-a57, AAVMF, the device on the platform bus,
 *            described by the board;
 * under the same accelerator (TCG here), one run, both binaries from the
 * same integrations/qemu/build-qemu build. The guests differ only in architecture:
 * Debian's kernel of the same version, the same tpm2-tools and tpmloop.
 */
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"
#include "tools/tool.h"
#include "tools/vm/vm.h"
#include "tools/vm/vm_arm64.h"
#include "tools/vm/vm_patched_qemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH "arm64"
#define NARCHS 2
static const enum vm_arch archs[NARCHS] = { VM_ARCH_X86_64, VM_ARCH_AARCH64 };

struct arch_result {
    bool ok;
    struct bench_loops loops;
};

static void on_line(void *opaque, const char *line)
{
    struct arch_result *r = opaque;

    bench_parse_tpmloop(&r->loops, line);
}

/* Returns 0, -1 on failure, -2 when interrupted. */
static int run_arch(enum vm_arch arch, const char *qemu, const char *script,
                    bool verbose, struct arch_result *r)
{
    /* Trap mode with start method 7 on both: the only one on aarch64. */
    const struct bench_config c = {
        .name = vm_arch_name(arch), .device = VM_DEVICE_QEMU_PATCHED,
        .start_method = 7,
    };
    struct vm_options o;
    int rc;

    memset(r, 0, sizeof(*r));
    bench_vm_options(&o, &c, script, on_line, r);
    o.arch = arch;
    o.qemu = qemu;
    if (arch == VM_ARCH_AARCH64 && vm_arm64_options(&o, true) < 0)
        return -1;
    rc = bench_run_guest(BENCH, c.name, &o, verbose, &r->loops);
    r->ok = rc == 0;
    return rc;
}

static void print_results(const struct arch_result res[NARCHS])
{
    const struct arch_result *x86 = &res[0], *arm = &res[1];

    bench_print_host_cpus(BENCH);
    for (size_t i = 0; i < NARCHS; i++) {
        const char *n = vm_arch_name(archs[i]);

        if (!res[i].ok)
            continue;
        bench_print_rates(BENCH, n, &res[i].loops);
        bench_print(BENCH, n, "run_seconds", 1, res[i].loops.run_seconds);
    }
    if (x86->ok && arm->ok)
        bench_print_ratios(BENCH, vm_arch_name(VM_ARCH_AARCH64), &arm->loops,
                           &x86->loops, vm_arch_name(VM_ARCH_X86_64), 2);
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench arm64 [--seconds N] [--only x86_64|aarch64] [--verbose]\n"
"  --seconds N  length of each guest loop (default 5)\n"
"  --only ARCH  run one guest only\n"
"  --verbose    copy the guest consoles to stderr\n"
"The patched QEMU comes from integrations/qemu/build-qemu (or $TPMCRB_QEMU_PATCHED and\n"
"$TPMCRB_QEMU_PATCHED_AARCH64); AAVMF from Debian's qemu-efi-aarch64.\n");
}

int bench_arm64(int argc, char **argv)
{
    struct arch_result res[NARCHS] = { { 0 } };
    enum vm_arch only = VM_ARCH_X86_64;
    bool all_ok = true;
    struct bench_args a;
    char *script;
    int rc = bench_parse_args(argc, argv, BENCH_TAKES_ONLY, usage, &a);

    if (rc >= 0)
        return rc;
    if (a.only && !vm_arch_parse(a.only, &only)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!(script = bench_guest_script(a.seconds, false, NULL)))
        return EXIT_RUNTIME;
    for (size_t i = 0; i < NARCHS; i++) {
        char *qemu;

        if (a.only && archs[i] != only)
            continue;
        if (!(qemu = vm_patched_qemu_binary_arch(archs[i]))) {
            all_ok = false;
            continue;
        }
        rc = run_arch(archs[i], qemu, script, a.verbose, &res[i]);
        free(qemu);
        all_ok &= rc == 0;
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    free(script);
    print_results(res);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
