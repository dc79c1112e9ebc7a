/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/clock.h"

#include <sched.h>
#include <time.h>

uint64_t crb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void crb_sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull),
                           (long)(ns % 1000000000ull) };

    nanosleep(&ts, NULL);
}

void crb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

void crb_spin_step(unsigned *spins)
{
    if ((++*spins & 127) == 0)
        sched_yield();
    else
        crb_cpu_relax();
}
