/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench vm` (DESIGN.md §8.3): boot the default guest once per
 * device configuration and run the static tpmloop program in it, a loop of
 * TPM2_GetRandom(32) through /dev/tpm0 and then /dev/tpmrm0. Then the guest
 * sleeps while we measure the CPU time this process (device thread,
 * executor, console pump) uses: the poll transport must back off when the
 * guest is quiet.
 */
#include "tools/bench_vm.h"
#include "tools/commands.h"
#include "tools/vm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define IDLE_BEGIN "TPMCRB-IDLE-BEGIN"
#define IDLE_END   "TPMCRB-IDLE-END"

struct bench_config {
    const char *name;
    enum vm_device device;
    unsigned start_method;
};

static const struct bench_config configs[] = {
    { "qemu_stock",  VM_DEVICE_QEMU_STOCK, 7 },
    { "tpmcrb_sm8",  VM_DEVICE_SHM, 8 },
    { "tpmcrb_sm7",  VM_DEVICE_SHM, 7 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct bench_result {
    double tpm0, tpmrm0;       /* commands/s, 0 = not measured */
    double tpm0_p50, tpmrm0_p50; /* median us per command */
    double idle_cpu_pct;       /* -1 = not measured */
    double cpu_at_begin, wall_at_begin;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system time of every thread of this process. */
static double process_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* "TPMLOOP dev=/dev/tpm0 commands=N seconds=S rate=R p50_us=P ..." */
static void parse_tpmloop(struct bench_result *r, const char *line)
{
    const char *dev = strstr(line, "dev=");
    const char *rate = strstr(line, "rate=");
    const char *p50 = strstr(line, "p50_us=");
    double p50_us = p50 ? atof(p50 + 7) : 0;

    if (!dev || !rate)
        return;
    if (!strncmp(dev + 4, "/dev/tpm0 ", 10)) {
        r->tpm0 = atof(rate + 5);
        r->tpm0_p50 = p50_us;
    } else if (!strncmp(dev + 4, "/dev/tpmrm0 ", 12)) {
        r->tpmrm0 = atof(rate + 5);
        r->tpmrm0_p50 = p50_us;
    }
}

static void on_line(void *opaque, const char *line)
{
    struct bench_result *r = opaque;

    if (strstr(line, "TPMLOOP ")) {
        parse_tpmloop(r, line);
    } else if (strstr(line, IDLE_BEGIN)) {
        r->cpu_at_begin = process_cpu_s();
        r->wall_at_begin = now_s();
    } else if (strstr(line, IDLE_END) && r->wall_at_begin > 0) {
        double wall = now_s() - r->wall_at_begin;
        if (wall > 0)
            r->idle_cpu_pct = 100.0 * (process_cpu_s() - r->cpu_at_begin) / wall;
    }
}

static char *guest_script(unsigned seconds, unsigned idle)
{
    char *s;

    /* A short warm-up first: the first commands after boot also pay for
     * page faults and TCG translating the driver's code. -l adds the
     * median latency, which host scheduling noise moves less than the
     * mean: a command whose response is not ready at the guest's first
     * status read costs a ~1 ms sleep. */
    if (asprintf(&s,
                 "tpmloop -n 200 /dev/tpm0 >/dev/null || exit 1\n"
                 "tpmloop -l -t %u /dev/tpm0 || exit 1\n"
                 "tpmloop -l -t %u /dev/tpmrm0 || exit 1\n"
                 "echo " IDLE_BEGIN "\n"
                 "sleep %u\n"
                 "echo " IDLE_END "\n",
                 seconds, seconds, idle) < 0)
        return NULL;
    return s;
}

static int run_config(const struct bench_config *c, const char *script,
                      bool verbose, struct bench_result *r)
{
    struct vm_options o;
    struct vm_result vr;

    memset(r, 0, sizeof(*r));
    r->idle_cpu_pct = -1;
    vm_options_init(&o);
    o.device = c->device;
    o.start_method = c->start_method;
    o.script = script;
    o.console_fd = verbose ? STDERR_FILENO : -1;
    o.on_line = on_line;
    o.opaque = r;
    fprintf(stderr, "bench vm: %s ...\n", c->name);
    if (vm_run(&o, &vr) < 0 || vr.signal)
        return vr.signal ? -2 : -1;
    if (vr.guest_exit != 0 || r->tpm0 <= 0 || r->tpmrm0 <= 0) {
        fprintf(stderr, "bench vm: %s: the guest loop failed (exit %d)%s\n",
                c->name, vr.guest_exit, verbose ? "" : "; --verbose shows the console");
        return -1;
    }
    return 0;
}

static void print_results(const struct bench_result res[NCONFIGS],
                          const bool ok[NCONFIGS])
{
    const struct bench_result *stock = ok[0] ? &res[0] : NULL;

    double load[3] = { -1, -1, -1 };

    /* The machine's load says how far to trust the rest: TCG and the
     * spinning device thread both want a whole core. */
    getloadavg(load, 3);
    printf("BENCH vm.host_cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("BENCH vm.host_load_1min=%.2f\n", load[0]);
    for (size_t i = 0; i < NCONFIGS; i++) {
        const char *n = configs[i].name;
        if (!ok[i])
            continue;
        printf("BENCH vm.%s.tpm0_commands_per_s=%.0f\n", n, res[i].tpm0);
        printf("BENCH vm.%s.tpmrm0_commands_per_s=%.0f\n", n, res[i].tpmrm0);
        printf("BENCH vm.%s.tpm0_p50_us=%.0f\n", n, res[i].tpm0_p50);
        printf("BENCH vm.%s.tpmrm0_p50_us=%.0f\n", n, res[i].tpmrm0_p50);
        if (stock && &res[i] != stock) {
            printf("BENCH vm.%s.tpm0_ratio_to_qemu_stock=%.2f\n", n,
                   res[i].tpm0 / stock->tpm0);
            printf("BENCH vm.%s.tpmrm0_ratio_to_qemu_stock=%.2f\n", n,
                   res[i].tpmrm0 / stock->tpmrm0);
        }
        if (configs[i].device == VM_DEVICE_SHM && res[i].idle_cpu_pct >= 0)
            printf("BENCH vm.%s.idle_cpu_pct=%.2f\n", n, res[i].idle_cpu_pct);
    }
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
    static const struct option opts[] = {
        { "seconds", required_argument, NULL, 's' },
        { "idle", required_argument, NULL, 'i' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned seconds = 5, idle = 5;
    struct bench_result res[NCONFIGS];
    bool ok[NCONFIGS], verbose = false, all_ok = true;
    char *script;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': seconds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'i': idle = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || !seconds || seconds > 600 || !idle || idle > 600) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!(script = guest_script(seconds, idle)))
        return EXIT_RUNTIME;
    for (size_t i = 0; i < NCONFIGS; i++)
        ok[i] = false;
    for (size_t i = 0; i < NCONFIGS; i++) {
        int rc = run_config(&configs[i], script, verbose, &res[i]);
        ok[i] = rc == 0;
        all_ok &= ok[i];
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    free(script);
    print_results(res, ok);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
