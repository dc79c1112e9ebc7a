/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * os.h's waiting on any POSIX host: a mutex and a condition variable. A
 * sleeper looks at the word with the mutex held and the waker takes the
 * mutex after changing the word, so a change between the sleeper's look
 * and its sleep cannot be missed.
 */
#include "os/os.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

const char os_wait_impl[] = "posix";

/* Deadlines on the monotonic clock where the condition variable can use
 * it (POSIX clock selection); the wall clock otherwise, where a clock step
 * only makes one sleep end early or late. */
#if defined(_POSIX_CLOCK_SELECTION) && _POSIX_CLOCK_SELECTION >= 0
#define WAIT_CLOCK CLOCK_MONOTONIC
#else
#define WAIT_CLOCK CLOCK_REALTIME
#endif

int os_waitq_init(struct os_waitq *q)
{
    pthread_condattr_t attr;
    int err;

    if ((err = pthread_condattr_init(&attr)) != 0)
        return -err;
#if defined(_POSIX_CLOCK_SELECTION) && _POSIX_CLOCK_SELECTION >= 0
    if ((err = pthread_condattr_setclock(&attr, WAIT_CLOCK)) != 0) {
        pthread_condattr_destroy(&attr);
        return -err;
    }
#endif
    err = pthread_cond_init(&q->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (err)
        return -err;
    if ((err = pthread_mutex_init(&q->lock, NULL)) != 0) {
        pthread_cond_destroy(&q->cond);
        return -err;
    }
    return 0;
}

void os_waitq_destroy(struct os_waitq *q)
{
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
}

static struct timespec deadline_after(uint64_t ns)
{
    struct timespec ts;

    clock_gettime(WAIT_CLOCK, &ts);
    ns += (uint64_t)ts.tv_nsec;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    return ts;
}

void os_wait(struct os_waitq *q, _Atomic uint32_t *word, uint32_t expected,
             uint64_t timeout_ns)
{
    struct timespec deadline;

    if (timeout_ns)
        deadline = deadline_after(timeout_ns);
    pthread_mutex_lock(&q->lock);
    while (atomic_load(word) == expected) {
        if (!timeout_ns)
            pthread_cond_wait(&q->cond, &q->lock);
        else if (pthread_cond_timedwait(&q->cond, &q->lock, &deadline) ==
                 ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&q->lock);
}

void os_wake(struct os_waitq *q, _Atomic uint32_t *word, unsigned waiters)
{
    (void)word;
    (void)waiters;
    /* Taking the lock orders this wake after any sleeper's look at the
     * word. Everyone on the queue wakes and looks again: a queue may
     * serve more than one word. */
    pthread_mutex_lock(&q->lock);
    pthread_mutex_unlock(&q->lock);
    pthread_cond_broadcast(&q->cond);
}
