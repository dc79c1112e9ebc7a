/* SPDX-License-Identifier: BSD-3-Clause */
/* os.h's waiting on Linux: a futex on the word itself. */
#include "os/os.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char os_wait_impl[] = "futex";

int os_waitq_init(struct os_waitq *q)
{
    (void)q;
    return 0;
}

void os_waitq_destroy(struct os_waitq *q)
{
    (void)q;
}

void os_wait(struct os_waitq *q, _Atomic uint32_t *word, uint32_t expected,
             uint64_t timeout_ns)
{
    struct timespec ts = { (time_t)(timeout_ns / 1000000000ull),
                           (long)(timeout_ns % 1000000000ull) };

    (void)q;
    /* The kernel compares the word with @expected under its queue lock:
     * a wake after the change cannot be missed. */
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected,
            timeout_ns ? &ts : NULL, NULL, 0);
}

void os_wake(struct os_waitq *q, _Atomic uint32_t *word, unsigned waiters)
{
    (void)q;
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE,
            waiters > INT_MAX ? INT_MAX : (int)waiters, NULL, NULL, 0);
}
