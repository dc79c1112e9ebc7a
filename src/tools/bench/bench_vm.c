/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench vm` (docs/design.md, "Tests and benchmarks"): boot the default guest once per
 * device configuration and run the static tpmloop program in it, a loop of
 * TPM2_GetRandom(32) through /dev/tpm0 and then /dev/tpmrm0. Then the guest
 * sleeps while we measure the CPU time this process (device thread,
 * executor, console pump) uses: the poll transport must back off when the
 * guest is quiet.
 */
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"
#include "tools/tool.h"
#include "tools/vm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BENCH "vm"
#define IDLE_BEGIN "TPMCRB-IDLE-BEGIN"
#define IDLE_END   "TPMCRB-IDLE-END"

static const struct bench_config configs[] = {
    { .name = "qemu_stock", .device = VM_DEVICE_QEMU_STOCK, .start_method = 7 },
    { .name = "tpmcrb_sm8", .device = VM_DEVICE_SHM, .start_method = 8 },
    { .name = "tpmcrb_sm7", .device = VM_DEVICE_SHM, .start_method = 7 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct bench_result {
    struct bench_loops loops;
    double idle_cpu_pct;       /* -1 = not measured */
    double cpu_at_begin, wall_at_begin;
};

/* User + system time of every thread of this process. */
static double process_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void on_line(void *opaque, const char *line)
{
    struct bench_result *r = opaque;

    if (bench_parse_tpmloop(&r->loops, line))
        return;
    if (strstr(line, IDLE_BEGIN)) {
        r->cpu_at_begin = process_cpu_s();
        r->wall_at_begin = bench_now();
    } else if (strstr(line, IDLE_END) && r->wall_at_begin > 0) {
        double wall = bench_now() - r->wall_at_begin;
        if (wall > 0)
            r->idle_cpu_pct = 100.0 * (process_cpu_s() - r->cpu_at_begin) / wall;
    }
}

/* The loops with median latencies (-l), which host scheduling noise moves
 * less than the mean: a command whose response is not ready at the
 * guest's first status read costs a ~1 ms sleep. Then the guest idles. */
static char *guest_script(unsigned seconds, unsigned idle)
{
    const char *after[3] = { NULL, NULL, NULL };
    char *idle_part, *s;

    if (asprintf(&idle_part, "echo " IDLE_BEGIN "\n"
                 "sleep %u\n"
                 "echo " IDLE_END "\n", idle) < 0)
        return NULL;
    after[2] = idle_part;
    s = bench_guest_script(seconds, true, after);
    free(idle_part);
    return s;
}

static int run_config(const struct bench_config *c, const char *script,
                      bool verbose, struct bench_result *r)
{
    struct vm_options o;

    memset(r, 0, sizeof(*r));
    r->idle_cpu_pct = -1;
    bench_vm_options(&o, c, script, on_line, r);
    return bench_run_guest(BENCH, c->name, &o, verbose, &r->loops);
}

static void print_config(const struct bench_config *c,
                         const struct bench_result *r,
                         const struct bench_result *stock)
{
    const char *n = c->name;

    bench_print_rates(BENCH, n, &r->loops);
    bench_print(BENCH, n, "tpm0_p50_us", 0, r->loops.tpm0.p50_us);
    bench_print(BENCH, n, "tpmrm0_p50_us", 0, r->loops.tpmrm0.p50_us);
    if (stock && r != stock)
        bench_print_ratios(BENCH, n, &r->loops, &stock->loops, "qemu_stock", 2);
    if (c->device == VM_DEVICE_SHM && r->idle_cpu_pct >= 0)
        bench_print(BENCH, n, "idle_cpu_pct", 2, r->idle_cpu_pct);
}

static void print_results(const struct bench_result res[NCONFIGS],
                          const bool ok[NCONFIGS])
{
    /* The machine's load says how far to trust the rest: TCG and the
     * spinning device thread both want a whole core. */
    bench_print_host_cpus(BENCH);
    bench_print(BENCH, NULL, "host_load_1min", 2, bench_host_load());
    for (size_t i = 0; i < NCONFIGS; i++)
        if (ok[i])
            print_config(&configs[i], &res[i], ok[0] ? &res[0] : NULL);
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench vm [--seconds N] [--idle N] [--verbose]\n"
"  --seconds N  length of each guest loop (default 5)\n"
"  --idle N     guest idle time for the CPU measurement (default 5)\n"
"  --verbose    copy the guest consoles to stderr\n");
}

int bench_vm(int argc, char **argv)
{
    struct bench_result res[NCONFIGS];
    bool ok[NCONFIGS] = { false }, all_ok = true;
    struct bench_args a;
    char *script;
    int rc = bench_parse_args(argc, argv, BENCH_TAKES_IDLE, usage, &a);

    if (rc >= 0)
        return rc;
    if (!(script = guest_script(a.seconds, a.idle)))
        return EXIT_RUNTIME;
    for (size_t i = 0; i < NCONFIGS; i++) {
        rc = run_config(&configs[i], script, a.verbose, &res[i]);
        ok[i] = rc == 0;
        all_ok &= ok[i];
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    free(script);
    print_results(res, ok);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
