/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The library's one seam to the operating system: sleeping until a 32-bit
 * word changes and waking who sleeps on it, and naming a thread. Two
 * implementations of the waiting, chosen by the meson option `wait`:
 *   futex  Linux futexes (wait_futex.c): the word itself is the queue;
 *   posix  a mutex and a condition variable (wait_posix.c): any POSIX
 *          host with threads, the portable fallback.
 * Nothing else in the library includes an OS-specific header, except the
 * passthrough backend, which drives a Linux TPM character device.
 */
#ifndef TPMCRB_OS_H
#define TPMCRB_OS_H

#include <pthread.h>
#include <stdint.h>

/* What sleepers on some words share. The futex implementation keeps
 * nothing here (the kernel queues on the word's address); the POSIX one
 * keeps the lock and the condition variable it sleeps on. */
struct os_waitq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

/* The implementation built in: "futex" or "posix". */
extern const char os_wait_impl[];

/* 0, or a negative errno. */
int os_waitq_init(struct os_waitq *q);
void os_waitq_destroy(struct os_waitq *q);

/* Sleep while *@word is @expected, at most @timeout_ns (0: no limit). May
 * return early or spuriously: callers check their condition again. */
void os_wait(struct os_waitq *q, _Atomic uint32_t *word, uint32_t expected,
             uint64_t timeout_ns);

/* Wake at least @waiters threads sleeping on @word (or all of them),
 * after the caller changed it: a sleeper that has not looked at the word
 * yet sees the change instead. */
void os_wake(struct os_waitq *q, _Atomic uint32_t *word, unsigned waiters);

/* A name for @thread in top -H, perf and /proc, where the system has
 * thread names (at most 15 characters); elsewhere nothing. */
void os_thread_name(pthread_t thread, const char *name);

/* Let the calling thread's timed sleeps end up to @ns late, so that the
 * system can serve several sleepers' wake-ups with one timer, where it has
 * such a setting (Linux: PR_SET_TIMERSLACK); elsewhere nothing. */
void os_timer_slack(uint64_t ns);

#endif
