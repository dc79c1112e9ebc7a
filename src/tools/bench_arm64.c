/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench arm64`: guest TPM2_GetRandom(32) loops through /dev/tpm0
 * and /dev/tpmrm0 with the patched QEMU's -device tpmcrb (trap mode,
 * embedded libtpms, TPM2 start method 7) on
 *   x86_64   q35, SeaBIOS, the device at 0xFED40000, described by itself;
 *   aarch64  virt, cortex-a57, AAVMF, the device on the platform bus,
 *            described by the board;
 * under the same accelerator (TCG here), one run, both binaries from the
 * same tools/build-qemu build. The guests differ only in architecture:
 * Debian's kernel of the same version, the same tpm2-tools and tpmloop.
 */
#include "tools/bench_arm64.h"
#include "tools/commands.h"
#include "tools/vm.h"
#include "tools/vm_arm64.h"
#include "tools/vm_patched_qemu.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NARCHS 2
static const enum vm_arch archs[NARCHS] = { VM_ARCH_X86_64, VM_ARCH_AARCH64 };

struct arch_result {
    bool ok;
    double tpm0, tpmrm0;   /* commands/s */
    double run_seconds;    /* boot, loops and power-off */
};

/* tpmloop's line: "TPMLOOP dev=DEV commands=N seconds=S rate=R". */
static void on_line(void *opaque, const char *line)
{
    struct arch_result *r = opaque;
    const char *p = strstr(line, "TPMLOOP ");
    char dev[32];
    double rate;

    if (p && sscanf(p, "TPMLOOP dev=%31s commands=%*u seconds=%*f rate=%lf",
                    dev, &rate) == 2) {
        if (!strcmp(dev, "/dev/tpm0"))
            r->tpm0 = rate;
        else if (!strcmp(dev, "/dev/tpmrm0"))
            r->tpmrm0 = rate;
    }
}

/* A warm-up first: the first commands after boot also pay for TCG
 * translating the driver and for page faults. */
static char *guest_script(unsigned seconds)
{
    char *s;

    if (asprintf(&s,
                 "tpmloop -n 200 /dev/tpm0 >/dev/null || exit 1\n"
                 "tpmloop -t %u /dev/tpm0 || exit 1\n"
                 "tpmloop -t %u /dev/tpmrm0 || exit 1\n",
                 seconds, seconds) < 0)
        return NULL;
    return s;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns 0, -1 on failure, -2 when interrupted. */
static int run_arch(enum vm_arch arch, const char *qemu, const char *script,
                    bool verbose, struct arch_result *r)
{
    struct vm_options o;
    struct vm_result vr;
    double start;

    memset(r, 0, sizeof(*r));
    vm_options_init(&o);
    o.arch = arch;
    o.device = VM_DEVICE_QEMU_PATCHED;
    o.qemu = qemu;
    o.script = script;
    o.console_fd = verbose ? STDERR_FILENO : -1;
    o.on_line = on_line;
    o.opaque = r;
    /* Trap mode with start method 7 on both: the only one on aarch64. */
    o.start_method = 7;
    if (arch == VM_ARCH_AARCH64 && vm_arm64_options(&o, true) < 0)
        return -1;
    fprintf(stderr, "bench arm64: %s ...\n", vm_arch_name(arch));
    start = now();
    if (vm_run(&o, &vr) < 0 || vr.signal)
        return vr.signal ? -2 : -1;
    r->run_seconds = now() - start;
    if (vr.guest_exit != 0 || r->tpm0 <= 0 || r->tpmrm0 <= 0) {
        fprintf(stderr, "bench arm64: %s: the guest loop failed (exit %d)%s\n",
                vm_arch_name(arch), vr.guest_exit,
                verbose ? "" : "; --verbose shows the console");
        return -1;
    }
    r->ok = true;
    return 0;
}

static void print_results(const struct arch_result res[NARCHS])
{
    const struct arch_result *x86 = &res[0], *arm = &res[1];

    printf("BENCH arm64.host_cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t i = 0; i < NARCHS; i++) {
        const char *n = vm_arch_name(archs[i]);

        if (!res[i].ok)
            continue;
        printf("BENCH arm64.%s.tpm0_commands_per_s=%.0f\n", n, res[i].tpm0);
        printf("BENCH arm64.%s.tpmrm0_commands_per_s=%.0f\n", n, res[i].tpmrm0);
        printf("BENCH arm64.%s.run_seconds=%.1f\n", n, res[i].run_seconds);
    }
    if (x86->ok && arm->ok) {
        printf("BENCH arm64.aarch64.tpm0_ratio_to_x86_64=%.2f\n",
               arm->tpm0 / x86->tpm0);
        printf("BENCH arm64.aarch64.tpmrm0_ratio_to_x86_64=%.2f\n",
               arm->tpmrm0 / x86->tpmrm0);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench arm64 [--seconds N] [--only x86_64|aarch64] [--verbose]\n"
"  --seconds N  length of each guest loop (default 5)\n"
"  --only ARCH  run one guest only\n"
"  --verbose    copy the guest consoles to stderr\n"
"The patched QEMU comes from tools/build-qemu (or $TPMCRB_QEMU_PATCHED and\n"
"$TPMCRB_QEMU_PATCHED_AARCH64); AAVMF from Debian's qemu-efi-aarch64.\n");
}

int bench_arm64(int argc, char **argv)
{
    static const struct option opts[] = {
        { "seconds", required_argument, NULL, 's' },
        { "only", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct arch_result res[NARCHS] = { { 0 } };
    bool verbose = false, all_ok = true, only_given = false;
    enum vm_arch only = VM_ARCH_X86_64;
    unsigned long seconds = 5;
    char *script, *end;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            seconds = strtoul(optarg, &end, 10);
            if (*end || !seconds || seconds > 600) {
                usage(stderr);
                return EXIT_USAGE;
            }
            break;
        case 'o':
            if (!vm_arch_parse(optarg, &only)) {
                usage(stderr);
                return EXIT_USAGE;
            }
            only_given = true;
            break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!(script = guest_script((unsigned)seconds)))
        return EXIT_RUNTIME;
    for (size_t i = 0; i < NARCHS; i++) {
        char *qemu;
        int rc;

        if (only_given && archs[i] != only)
            continue;
        if (!(qemu = vm_patched_qemu_binary_arch(archs[i]))) {
            all_ok = false;
            continue;
        }
        rc = run_arch(archs[i], qemu, script, verbose, &res[i]);
        free(qemu);
        all_ok &= rc == 0;
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    free(script);
    print_results(res);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
