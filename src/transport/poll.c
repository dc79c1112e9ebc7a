/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory poll transport. The register pages are ordinary guest RAM
 * shared with another process (QEMU with a shared memory backend), so guest
 * writes land in memory without an exit. A device thread asks the device
 * to find and apply them (device_take_guest_writes: each register dword
 * that differs from what was last published is a guest write). Commands
 * run on this thread too (inline mode): while one runs the guest only
 * reads, and a hand-off would add a third spinning thread.
 */
#include "core/device_io.h"
#include "os/os.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Spin this long after the last guest write: a Linux guest's next write
 * follows within microseconds while it works. */
#define ACTIVE_SPIN_NS   3000000ull
/* Longest sleep when the guest is quiet. A timer wake-up is expensive on a
 * virtualised host: a long sleep keeps idle CPU use low, and only the first
 * write after a quiet spell waits for it. */
#define MAX_SLEEP_NS     10000000ull
#define MIN_SLEEP_NS     20000ull

struct tpmcrb_poller {
    struct tpmcrb_device *dev;
    pthread_t thread;
    _Atomic bool stop;
};

static void *poll_thread(void *arg)
{
    struct tpmcrb_poller *p = arg;
    uint64_t last_activity = crb_now_ns(), sleep = MIN_SLEEP_NS;
    unsigned spins = 0;

    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        if (device_take_guest_writes(p->dev)) {
            device_run_pending(p->dev);
            last_activity = crb_now_ns();
            sleep = MIN_SLEEP_NS;
        } else if (crb_now_ns() - last_activity < ACTIVE_SPIN_NS) {
            crb_spin_step(&spins);
        } else {
            crb_sleep_ns(sleep);
            sleep = sleep * 2 < MAX_SLEEP_NS ? sleep * 2 : MAX_SLEEP_NS;
        }
    }
    return NULL;
}

int tpmcrb_poller_start(struct tpmcrb_device *dev, struct tpmcrb_poller **out)
{
    struct tpmcrb_poller *p = calloc(1, sizeof(*p));
    int err;

    if (!p)
        return -ENOMEM;
    p->dev = dev;
    device_set_inline(dev, true);
    err = pthread_create(&p->thread, NULL, poll_thread, p);
    if (err) {
        LOG_ERROR("cannot start the poll thread: %s", strerror(err));
        device_set_inline(dev, false);
        free(p);
        return -err;
    }
    os_thread_name(p->thread, "tpmcrb-poll"); /* for top -H, perf */
    *out = p;
    return 0;
}

void tpmcrb_poller_stop(struct tpmcrb_poller *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    device_set_inline(p->dev, false);
    device_run_pending(p->dev); /* a START seen last must still complete */
    free(p);
}
