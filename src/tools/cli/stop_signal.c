/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/stop_signal.h"

#include <errno.h>
#include <pthread.h>

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

volatile sig_atomic_t *tool_stop_on_signals(void)
{
    struct sigaction sa = { .sa_handler = on_stop_signal };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_signal;
}

static void stop_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int tool_block_stop_signals(void)
{
    sigset_t set;

    stop_signal_set(&set);
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int tool_wait_stop_signal(void)
{
    sigset_t set;
    int sig = 0;

    stop_signal_set(&set);
    while (sigwait(&set, &sig) != 0) {
        /* only EINVAL, impossible with this set; look again */
    }
    return sig;
}
