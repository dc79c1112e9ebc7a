/* SPDX-License-Identifier: BSD-3-Clause */
#include "exec/executor.h"
#include "os/os.h"
#include "util/log.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* How long the idle worker keeps spinning for the next command before it
 * sleeps: long enough to cover a guest driver's handshakes between two
 * commands, short enough to leave the CPU alone when the guest is quiet. */
#define WORKER_SPIN_NS 2000000ull
/* How long a submitter spins for its job before it sleeps until the job is
 * done or its bound has passed. A small command takes a few microseconds;
 * a worker that has not finished by then is usually not running at all,
 * and sleeping hands this CPU over (measured under two CPU hogs on two
 * cores: a waiter spinning its whole 500 us bound kept the worker off the
 * CPU for most commands, 270 commands/s in a Linux guest). */
#define WAITER_SPIN_NS 50000ull

uint64_t crb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

static bool seq_done(uint32_t completed, uint32_t seq)
{
    return (int32_t)(completed - seq) >= 0;
}

/* Sleep until job @seq is done, at most @ns. seq_cst on done_waiters and
 * completed here and in worker() pairs up: either this sees the job done
 * or the worker sees a waiter and wakes it. */
static void sleep_until_done(struct crb_executor *e, uint32_t seq, uint64_t ns)
{
    uint32_t seen;

    atomic_fetch_add(&e->done_waiters, 1);
    seen = atomic_load(&e->completed);
    if (!seq_done(seen, seq))
        os_wait(&e->completed_q, &e->completed, seen, ns);
    atomic_fetch_sub(&e->done_waiters, 1);
}

/* Wait for a job after @handled; false when asked to stop. */
static bool wait_for_job(struct crb_executor *e, uint32_t handled)
{
    uint64_t deadline = crb_now_ns() + WORKER_SPIN_NS;
    unsigned spins = 0;

    for (;;) {
        if (atomic_load(&e->stop))
            return false;
        if (atomic_load_explicit(&e->submitted, memory_order_acquire) != handled)
            return true;
        if ((spins & 255) || crb_now_ns() < deadline) {
            crb_spin_step(&spins);
            continue;
        }
        atomic_store(&e->waiters, 1);
        if (atomic_load(&e->submitted) == handled && !atomic_load(&e->stop))
            os_wait(&e->submitted_q, &e->submitted, handled, 0);
        atomic_store(&e->waiters, 0);
        deadline = crb_now_ns() + WORKER_SPIN_NS;
    }
}

static void *worker(void *arg)
{
    struct crb_executor *e = arg;
    uint32_t handled = 0;

    while (wait_for_job(e, handled)) {
        handled++;
        e->run(e->opaque);
        atomic_store(&e->completed, handled);
        if (atomic_load(&e->done_waiters))
            os_wake(&e->completed_q, &e->completed, UINT32_MAX);
    }
    return NULL;
}

int crb_executor_start(struct crb_executor *e, void (*run)(void *),
                       void *opaque)
{
    int err;

    memset(e, 0, sizeof(*e));
    e->run = run;
    e->opaque = opaque;
    if ((err = os_waitq_init(&e->submitted_q)) < 0)
        goto no_queue;
    if ((err = os_waitq_init(&e->completed_q)) < 0) {
        os_waitq_destroy(&e->submitted_q);
        goto no_queue;
    }
    err = pthread_create(&e->thread, NULL, worker, e);
    if (err) {
        LOG_ERROR("cannot start the executor thread: %s", strerror(err));
        os_waitq_destroy(&e->submitted_q);
        os_waitq_destroy(&e->completed_q);
        return -err;
    }
    /* Named so that top -H, perf and /proc show which thread is ours in a
     * VMM's process. */
    os_thread_name(e->thread, "tpmcrb-worker");
    e->started = true;
    return 0;
no_queue:
    LOG_ERROR("cannot set up the executor's wait queues: %s", strerror(-err));
    return err;
}

void crb_executor_stop(struct crb_executor *e)
{
    if (!e->started)
        return;
    atomic_store(&e->stop, true);
    /* Change the word it sleeps on too: a worker between its stop check and
     * os_wait() then returns at once instead of missing the wake-up.
     * It checks stop before it looks for a job, so nothing runs. */
    atomic_fetch_add(&e->submitted, 1);
    os_wake(&e->submitted_q, &e->submitted, 1);
    pthread_join(e->thread, NULL);
    os_waitq_destroy(&e->submitted_q);
    os_waitq_destroy(&e->completed_q);
    e->started = false;
}

uint32_t crb_executor_submit(struct crb_executor *e)
{
    /* seq_cst pairs with the worker's waiters/submitted check. */
    uint32_t seq = atomic_fetch_add(&e->submitted, 1) + 1;

    if (atomic_load(&e->waiters))
        os_wake(&e->submitted_q, &e->submitted, 1);
    return seq;
}

bool crb_executor_done(struct crb_executor *e, uint32_t seq)
{
    return seq_done(atomic_load_explicit(&e->completed, memory_order_acquire),
                    seq);
}

bool crb_executor_wait(struct crb_executor *e, uint32_t seq, uint64_t bound_us)
{
    uint64_t now, deadline, spin_end;
    unsigned spins = 0;

    if (crb_executor_done(e, seq))
        return true;
    now = crb_now_ns();
    deadline = now + bound_us * 1000;
    spin_end = now + WAITER_SPIN_NS;
    while (!crb_executor_done(e, seq)) {
        if ((spins & 63) == 0) {
            now = crb_now_ns();
            if (now >= deadline)
                return false;
            if (now >= spin_end) {
                sleep_until_done(e, seq, deadline - now);
                continue;
            }
        }
        crb_spin_step(&spins);
    }
    return true;
}
