/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The executor: one worker thread that runs backend commands, and a bounded
 * wait for their completion. The hand-off spins on both sides before it
 * falls back to sleeping (os/os.h): a sleeping hand-off costs ~100 us per
 * command in a Linux guest and throws away what synchronous completion
 * gains (§4b). The
 * spins are short, though: when there are more runnable threads than cores,
 * a waiter that spins away its whole bound keeps the worker it waits for
 * off the CPU.
 */
#ifndef TPMCRB_EXECUTOR_H
#define TPMCRB_EXECUTOR_H

#include "os/os.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct crb_executor {
    /* Runs job number @seq on the worker thread. */
    void (*run)(void *opaque);
    void *opaque;
    pthread_t thread;
    bool started;
    _Atomic uint32_t submitted;  /* jobs handed over (the worker sleeps on it) */
    _Atomic uint32_t completed;  /* jobs finished (submitters sleep on it) */
    _Atomic uint32_t done_waiters; /* submitters asleep on completed */
    _Atomic uint32_t waiters;    /* worker asleep on submitted */
    struct os_waitq submitted_q, completed_q;
    _Atomic bool stop;
};

int crb_executor_start(struct crb_executor *e, void (*run)(void *),
                       void *opaque);
void crb_executor_stop(struct crb_executor *e);
/* Hand over one job; returns its sequence number. */
uint32_t crb_executor_submit(struct crb_executor *e);
/* Wait until job @seq has completed or @bound_us passed: spin first, then
 * sleep for the rest of the bound. */
bool crb_executor_wait(struct crb_executor *e, uint32_t seq, uint64_t bound_us);
bool crb_executor_done(struct crb_executor *e, uint32_t seq);

uint64_t crb_now_ns(void);
void crb_cpu_relax(void);
/* One step of a spin loop: a pause, and every so often a yield, so that
 * spinning threads do not starve the thread they wait for when there are
 * more runnable threads than cores. */
void crb_spin_step(unsigned *spins);

#endif
