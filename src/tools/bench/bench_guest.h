/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the guest benchmarks (`tpmcrb bench vm`, `bench qemu`, `bench arm64`)
 * share: their options, the guest script around tpmloop, reading tpmloop's
 * output from the console, one guest run, and the BENCH lines. Each
 * benchmark keeps what only it measures.
 */
#ifndef TPMCRB_BENCH_GUEST_H
#define TPMCRB_BENCH_GUEST_H

#include "tools/vm/vm.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One device configuration of a benchmark; @name goes into the BENCH keys. */
struct bench_config {
    const char *name;
    enum vm_device device;
    unsigned start_method;
    bool split_layout;      /* patched QEMU: layout=split,localities=5 */
    bool embedded_libtpms;  /* patched QEMU built with libtpms inside */
};

#define BENCH_MAX_LOOPS 32

/* What tpmloop reported for one device node: one or more loops. */
struct bench_loop {
    double rate;        /* commands/s, median of the loops; 0 = not measured */
    double p50_us;      /* median latency (tpmloop -l) of the last loop, else 0 */
    uint64_t commands;  /* guest commands in all loops */
    double rates[BENCH_MAX_LOOPS]; /* each loop's commands/s */
    unsigned n;         /* loops */
};

/* One guest run: a loop through /dev/tpm0, then one through /dev/tpmrm0. */
struct bench_loops {
    struct bench_loop tpm0, tpmrm0;
    double run_seconds; /* boot, loops and power-off */
};

/* Options beyond --seconds, --verbose and --help that a benchmark takes. */
enum {
    BENCH_TAKES_IDLE = 1u << 0,
    BENCH_TAKES_ONLY = 1u << 1,
    BENCH_TAKES_LOAD = 1u << 2,   /* --load N and --loops N */
};

struct bench_args {
    unsigned seconds;   /* --seconds N: each loop's length (default 5) */
    unsigned idle;      /* --idle N: guest idle time (default 5) */
    const char *only;   /* --only VALUE, unchecked; NULL: not given */
    bool verbose;       /* --verbose: guest consoles to stderr */
    unsigned load;      /* --load N: busy loops beside the guests (default 0) */
    unsigned loops;     /* --loops N: guest loops per device node (default 1) */
};

/* Parse argv (argv[0] is the benchmark's name) into @a, accepting the
 * options in @takes (BENCH_TAKES_*). Returns -1 to run the benchmark, or
 * the exit code after --help or a usage error, @usage having printed. */
int bench_parse_args(int argc, char **argv, unsigned takes,
                     void (*usage)(FILE *out), struct bench_args *a);

/* The guest script: a warm-up, then a @seconds-long tpmloop through
 * /dev/tpm0 and one through /dev/tpmrm0, with median latencies when
 * @latency. @after[0] runs after the warm-up, @after[1] and @after[2]
 * after each loop (NULL: nothing; @after NULL: nothing anywhere). Returns a malloc'd string, or NULL. */
char *bench_guest_script(unsigned seconds, bool latency,
                         const char *const after[3]);
/* The same with @loops loops (at most BENCH_MAX_LOOPS) per device node. */
char *bench_guest_script_loops(unsigned seconds, unsigned loops, bool latency,
                               const char *const after[3]);

/* Read a console line into @r if it is tpmloop's result ("TPMLOOP
 * dev=DEV commands=N seconds=S rate=R [p50_us=P ...]"); false if not. */
bool bench_parse_tpmloop(struct bench_loops *r, const char *line);

/* vm_options_init() and then @c's device, @script and the console
 * callback. */
void bench_vm_options(struct vm_options *o, const struct bench_config *c,
                      const char *script,
                      void (*on_line)(void *opaque, const char *line),
                      void *opaque);

/* Run the guest of @o (from bench_vm_options(); the console callback
 * fills @r) for benchmark @bench's configuration
 * @name. Returns 0, -1 after saying why it failed, -2 when interrupted. */
int bench_run_guest(const char *bench, const char *name, struct vm_options *o,
                    bool verbose, struct bench_loops *r);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);
/* The host's one-minute load average, or -1. */
double bench_host_load(void);

/* "BENCH @bench.@name.@key=@value" with @digits decimals; no @name part
 * when @name is NULL. */
void bench_print(const char *bench, const char *name, const char *key,
                 int digits, double value);
/* The host's CPU count. */
void bench_print_host_cpus(const char *bench);
/* Both nodes' commands/s (the median of their loops), and with more than
 * one loop each loop's and the worst. */
void bench_print_rates(const char *bench, const char *name,
                       const struct bench_loops *r);
/* Both nodes' rates relative to @ref's, run as @ref_name (medians), and
 * with more than one loop the worst loop's relative to @ref's median. */
void bench_print_ratios(const char *bench, const char *name,
                        const struct bench_loops *r,
                        const struct bench_loops *ref, const char *ref_name,
                        int digits);

#endif
