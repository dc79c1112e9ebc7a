/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/bench/bench_load.h"
#include "tools/tool.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static _Noreturn void spin(unsigned cpu)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    volatile unsigned long n = 0;
    cpu_set_t set;

    /* Dies with the benchmark, however that ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    CPU_ZERO(&set);
    CPU_SET(cpu % (unsigned)(ncpu > 0 ? ncpu : 1), &set);
    sched_setaffinity(0, sizeof(set), &set);
    for (;;)
        n++;
}

bool bench_load_start(struct bench_load *l, unsigned n)
{
    l->n = 0;
    if (n > BENCH_MAX_LOAD) {
        LOG_ERROR("at most %u busy loops", BENCH_MAX_LOAD);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        pid_t pid = fork();

        if (pid == 0)
            spin(i);
        if (pid < 0) {
            LOG_ERROR("fork: %s", strerror(errno));
            bench_load_stop(l);
            return false;
        }
        l->pids[l->n++] = pid;
    }
    return true;
}

void bench_load_stop(struct bench_load *l)
{
    for (unsigned i = 0; i < l->n; i++)
        kill(l->pids[i], SIGKILL);
    for (unsigned i = 0; i < l->n; i++)
        while (waitpid(l->pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    l->n = 0;
}
