/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The executor sits between the device and its backend: it runs each
 * command on the backend (tpmcrb_backend_ops.execute) and hands the
 * response back through a completion callback, and it offers a bounded
 * wait for that completion.
 *
 * Commands run on the executor's worker thread, or, in inline mode, on
 * whichever thread calls crb_executor_run_pending() (the poll transport's
 * own thread: one spinning thread fewer than a hand-off, on hosts with few
 * cores). The hand-off to the worker spins on both sides before it falls
 * back to sleeping (os/os.h): a sleeping hand-off costs far more per
 * command than a guest's command takes and throws away what synchronous
 * completion gains.
 * The spins are short, though: when there are more runnable threads than
 * cores, a waiter that spins away its whole bound keeps the worker it
 * waits for off the CPU.
 *
 * No hand-off at all is faster still, and on a busy host it is what keeps
 * a guest fast: a hand-off needs two threads on a CPU at once, and a host
 * with more runnable threads than cores makes one of them wait for the
 * scheduler's next round for nearly every command. With the fast path on,
 * the thread that submitted a job offers it to the backend's
 * execute_quick() in crb_executor_wait(); the backend runs it there if it
 * knows it to be quick, or declines it, and then it goes to the worker
 * with the bounded wait as before. State such a command changed is
 * committed on the worker before the completion callback.
 */
#ifndef TPMCRB_EXECUTOR_H
#define TPMCRB_EXECUTOR_H

#include "os/os.h"
#include "tpmcrb.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Called on the executing thread with the backend's response (@err < 0:
 * the backend failed). The response is valid during the call only. */
typedef void crb_executor_done_fn(void *opaque, const uint8_t *rsp,
                                  uint32_t len, int err);

struct crb_executor {
    struct tpmcrb_backend *be;
    crb_executor_done_fn *done;
    void *opaque;
    /* The job: one at a time (the core has one command in flight). Set by
     * crb_executor_submit(), read by the executing thread after it. */
    unsigned job_locality;
    const uint8_t *job_cmd;
    uint32_t job_len;

    pthread_t thread;
    bool started;
    _Atomic uint32_t submitted;  /* jobs handed over (the worker sleeps on it) */
    _Atomic uint32_t completed;  /* jobs finished (submitters sleep on it) */
    _Atomic uint32_t done_waiters; /* submitters asleep on completed */
    _Atomic uint32_t waiters;    /* worker asleep on submitted */
    _Atomic bool wake_owed;      /* a job submitted, the worker not woken yet */
    struct os_waitq submitted_q, completed_q;
    _Atomic bool stop;
    _Atomic bool inline_mode, inline_pending;
    /* The fast path: on; a job left for the submitter's wait; the worker's
     * next job is a commit() whose response waits in rsp/rsp_len. */
    _Atomic bool fast_path, quick_pending;
    bool commit_pending;
    uint32_t rsp_len;
    _Atomic uint64_t quick_count;   /* jobs the submitter ran itself */
    /* Cancelling the job: asked for (by crb_executor_cancel()), and the
     * backend has been given it; both cleared by crb_executor_submit(). */
    _Atomic bool job_cancel, job_started;
    _Atomic uint64_t cancelled_before_start;
    uint8_t rsp[TPMCRB_SPLIT_BUFFER_SIZE];
};

int crb_executor_start(struct crb_executor *e, struct tpmcrb_backend *be,
                       crb_executor_done_fn *done, void *opaque);
void crb_executor_stop(struct crb_executor *e);

/* Hand over the command @cmd of @len bytes from @locality; @cmd stays
 * untouched until the completion callback. Returns the job's sequence
 * number for crb_executor_wait(). In inline mode the job waits for
 * crb_executor_run_pending() instead, unless @to_worker; with the fast
 * path it waits for the submitter's crb_executor_wait(), unless
 * @to_worker. The worker is not woken here, since the caller holds the
 * device lock: crb_executor_kick() (or crb_executor_wait()) does it once
 * the lock is dropped. */
uint32_t crb_executor_submit(struct crb_executor *e, unsigned locality,
                             const uint8_t *cmd, uint32_t len, bool to_worker);
/* Wake the worker for a job submitted since the last kick; call it after
 * dropping the lock that was held around crb_executor_submit(). Woken
 * while the submitter still held that lock, a worker on the submitter's
 * CPU preempts it, does the job and then blocks on the lock, and the CPU
 * can go to another task for a whole scheduler round before the
 * submitter runs again to release it. */
void crb_executor_kick(struct crb_executor *e);
/* Wait until job @seq has completed or @bound_us passed (kicking the
 * worker first): spin first, then
 * sleep for the rest of the bound. True when it completed. A job left for
 * the fast path runs here first, on the caller's thread, if the backend
 * takes it. */
bool crb_executor_wait(struct crb_executor *e, uint32_t seq, uint64_t bound_us);
bool crb_executor_done(struct crb_executor *e, uint32_t seq);

/* Cancel the job last submitted (any thread; the caller serialises it
 * with crb_executor_submit()). A job the backend has not been given yet
 * never reaches it: it completes with TPM_RC_CANCELED. One the backend has
 * is left to the backend's cancel(). */
void crb_executor_cancel(struct crb_executor *e);
/* Jobs cancelled before the backend was given them, so far. */
uint64_t crb_executor_cancelled_before_start(struct crb_executor *e);

/* Inline mode: the caller's thread runs submitted jobs. */
void crb_executor_set_inline(struct crb_executor *e, bool on);
/* Run a job submitted in inline mode, if there is one. */
void crb_executor_run_pending(struct crb_executor *e);

/* The fast path (needs a backend with execute_quick(); off by default):
 * set before the first job. */
void crb_executor_set_fast_path(struct crb_executor *e, bool on);
/* Jobs that ran on their submitter's thread so far. */
uint64_t crb_executor_quick_count(struct crb_executor *e);

#endif
