/* SPDX-License-Identifier: BSD-3-Clause */
#include "exec/executor.h"
#include "os/os.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* How long a submitter spins for its job before it sleeps until the job is
 * done or its bound has passed. A small command takes a few microseconds;
 * a worker that has not finished by then is usually not running at all,
 * and sleeping hands this CPU over: under CPU hogs a waiter that spins its
 * whole bound keeps the worker off the CPU for most commands. */
#define WAITER_SPIN_NS 50000ull

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

/* Wait for a job after @handled; false when asked to stop. The worker
 * sleeps as soon as it has nothing to do, never spins: a spinning worker is
 * runnable, and on a host with more runnable threads than cores it is
 * preempted and waits for the scheduler's next round while a job waits for
 * it, whereas a sleeping worker is woken by the submitter and, having used
 * little CPU, gets a CPU at once (docs/design.md, "Performance under
 * load"). */
static bool wait_for_job(struct crb_executor *e, uint32_t handled)
{
    for (;;) {
        if (atomic_load(&e->stop))
            return false;
        if (atomic_load_explicit(&e->submitted, memory_order_acquire) != handled)
            return true;
        atomic_store(&e->waiters, 1);
        if (atomic_load(&e->submitted) == handled && !atomic_load(&e->stop))
            os_wait(&e->submitted_q, &e->submitted, handled, 0);
        atomic_store(&e->waiters, 0);
    }
}

/* Called right before the backend is given the job: false when the job was
 * cancelled first. The cancel's side (crb_executor_cancel()) stores its
 * request and then looks at job_started; here it is the other way round.
 * Both are seq_cst, so at least one of the two sees the other's store:
 * either the job never reaches the backend, or the backend's cancel() is
 * called. A backend's own cancel signal cannot be relied on for a command
 * it has not received yet (libtpms clears it when a command begins). */
static bool claim_job(struct crb_executor *e)
{
    atomic_store(&e->job_started, true);
    return !atomic_load(&e->job_cancel);
}

/* A job cancelled before the backend got it: the TPM never saw the
 * command, so TPM_RC_CANCELED is the whole truth. */
static void complete_cancelled(struct crb_executor *e)
{
    uint32_t len = tpm_error_response(e->rsp, TPM_RC_CANCELED);

    atomic_fetch_add(&e->cancelled_before_start, 1);
    LOG_DEBUG("command cancelled before it reached the backend");
    e->done(e->opaque, e->rsp, len, 0);
}

/* The job, on the backend; its response to the device. Out of line: the
 * device benchmark counts its instructions by name. */
static __attribute__((noinline)) void executor_run_job(struct crb_executor *e)
{
    uint32_t rsp_len = 0;
    int err;

    if (e->commit_pending) {
        /* The fast path ran the command; its state goes to disk here,
         * before the response is let out. */
        e->commit_pending = false;
        e->done(e->opaque, e->rsp, e->rsp_len, e->be->ops->commit(e->be));
        return;
    }
    if (!claim_job(e)) {
        complete_cancelled(e);
        return;
    }
    err = e->be->ops->execute(e->be, e->job_locality, e->job_cmd, e->job_len,
                              e->rsp, sizeof(e->rsp), &rsp_len);
    e->done(e->opaque, e->rsp, rsp_len, err);
}

static void *worker(void *arg)
{
    struct crb_executor *e = arg;
    uint32_t handled = 0;

    while (wait_for_job(e, handled)) {
        handled++;
        executor_run_job(e);
        atomic_store(&e->completed, handled);
        if (atomic_load(&e->done_waiters))
            os_wake(&e->completed_q, &e->completed, UINT32_MAX);
    }
    return NULL;
}

int crb_executor_start(struct crb_executor *e, struct tpmcrb_backend *be,
                       crb_executor_done_fn *done, void *opaque)
{
    int err;

    memset(e, 0, sizeof(*e));
    e->be = be;
    e->done = done;
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

/* The job to the worker thread; returns its sequence number. The worker
 * is woken now or, with @wake_later, by the next crb_executor_kick(). */
static uint32_t hand_over(struct crb_executor *e, bool wake_later)
{
    /* seq_cst pairs with the worker's waiters/submitted check; it also
     * publishes the job fields to the worker. */
    uint32_t seq = atomic_fetch_add(&e->submitted, 1) + 1;

    if (wake_later)
        atomic_store(&e->wake_owed, true);
    else if (atomic_load(&e->waiters))
        os_wake(&e->submitted_q, &e->submitted, 1);
    return seq;
}

void crb_executor_kick(struct crb_executor *e)
{
    /* After the submission's seq_cst increment, so a worker that went to
     * sleep before it is seen here. */
    if (atomic_load_explicit(&e->wake_owed, memory_order_relaxed) &&
        atomic_exchange(&e->wake_owed, false) && atomic_load(&e->waiters))
        os_wake(&e->submitted_q, &e->submitted, 1);
}

uint32_t crb_executor_submit(struct crb_executor *e, unsigned locality,
                             const uint8_t *cmd, uint32_t len, bool to_worker)
{
    e->job_locality = locality;
    e->job_cmd = cmd;
    e->job_len = len;
    atomic_store_explicit(&e->job_cancel, false, memory_order_relaxed);
    atomic_store_explicit(&e->job_started, false, memory_order_relaxed);
    if (!to_worker && atomic_load(&e->inline_mode)) {
        /* Runs on the inline thread; the latest worker job is the one to
         * wait for. */
        atomic_store(&e->inline_pending, true);
        return atomic_load(&e->submitted);
    }
    if (!to_worker && atomic_load(&e->fast_path)) {
        /* Runs in the submitter's crb_executor_wait(), or goes to the
         * worker from there. */
        atomic_store(&e->quick_pending, true);
        return atomic_load(&e->submitted);
    }
    return hand_over(e, true);
}

/* The fast path, on the submitter's thread. True when the job is done;
 * else it went to the worker as job *@seq (declined, or its state to
 * commit). Out of line: the device benchmark counts its instructions by
 * name. */
static __attribute__((noinline)) bool executor_run_quick(struct crb_executor *e,
                                                         uint32_t *seq)
{
    uint32_t rsp_len = 0;
    int rc;

    if (!claim_job(e)) {
        complete_cancelled(e);
        return true;
    }
    rc = e->be->ops->execute_quick(e->be, e->job_locality, e->job_cmd,
                                   e->job_len, e->rsp, sizeof(e->rsp),
                                   &rsp_len);
    if (rc != TPMCRB_QUICK_DECLINED)
        atomic_fetch_add(&e->quick_count, 1);
    if (rc == TPMCRB_QUICK_COMMIT) {
        e->rsp_len = rsp_len;
        e->commit_pending = true;
    }
    if (rc == TPMCRB_QUICK_DECLINED || rc == TPMCRB_QUICK_COMMIT) {
        *seq = hand_over(e, false);
        return false;
    }
    e->done(e->opaque, e->rsp, rsp_len, rc < 0 ? rc : 0);
    return true;
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

    crb_executor_kick(e);
    if (atomic_exchange(&e->quick_pending, false) && executor_run_quick(e, &seq))
        return true;
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

void crb_executor_cancel(struct crb_executor *e)
{
    atomic_store(&e->job_cancel, true);
    if (atomic_load(&e->job_started) && e->be->ops->cancel)
        e->be->ops->cancel(e->be);
}

uint64_t crb_executor_cancelled_before_start(struct crb_executor *e)
{
    return atomic_load(&e->cancelled_before_start);
}

void crb_executor_set_inline(struct crb_executor *e, bool on)
{
    atomic_store(&e->inline_mode, on);
}

void crb_executor_set_fast_path(struct crb_executor *e, bool on)
{
    atomic_store(&e->fast_path, on && e->be->ops->execute_quick &&
                                e->be->ops->commit);
}

uint64_t crb_executor_quick_count(struct crb_executor *e)
{
    return atomic_load(&e->quick_count);
}

void crb_executor_run_pending(struct crb_executor *e)
{
    if (atomic_exchange(&e->inline_pending, false))
        executor_run_job(e);
}
