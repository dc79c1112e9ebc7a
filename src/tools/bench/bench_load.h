/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Busy loops that the benchmarks start themselves (--load N), so that a
 * figure "under load" comes from the same run as the idle one and says how
 * much load it was: N child processes that spin in user space, child i
 * pinned to CPU i modulo the host's CPUs, like `taskset -c i yes`.
 */
#ifndef TPMCRB_BENCH_LOAD_H
#define TPMCRB_BENCH_LOAD_H

#include <stdbool.h>
#include <sys/types.h>

#define BENCH_MAX_LOAD 64

struct bench_load {
    unsigned n;
    pid_t pids[BENCH_MAX_LOAD];
};

/* Start @n busy loops (0: none). False after saying why; nothing is left
 * running then. */
bool bench_load_start(struct bench_load *l, unsigned n);
/* Kill and reap them (safe on a load that never started). */
void bench_load_stop(struct bench_load *l);

#endif
