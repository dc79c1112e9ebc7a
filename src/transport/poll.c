/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory poll transport. The register pages are ordinary guest RAM
 * shared with another process (QEMU with a shared memory backend), so guest
 * writes land in memory without an exit. A device thread compares each
 * register dword with what the core last published; a difference is a
 * guest write. It is applied through the core first and consumed with an
 * atomic exchange afterwards: the guest never sees a request register
 * clear before the state it asked for is published, and a write that lands
 * between the two is returned by the exchange and applied too, never lost.
 * Commands run on this thread too (device_run_inline): while one runs the
 * guest only reads, and a hand-off would add a third spinning thread.
 */
#include "core/device.h"
#include "util/byteorder.h"
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Spin this long after the last guest write: a Linux guest's next write
 * follows within microseconds while it works. */
#define ACTIVE_SPIN_NS   3000000ull
/* Longest sleep when the guest is quiet. A timer wake-up costs tens of
 * microseconds on a virtualised host: 10 ms keeps idle CPU use near 0.2 %
 * (2 ms measured 2 %), and only the first write after a quiet spell waits. */
#define MAX_SLEEP_NS     10000000ull
#define MIN_SLEEP_NS     20000ull

struct tpmcrb_poller {
    struct tpmcrb_device *dev;
    pthread_t thread;
    _Atomic bool stop;
};

/* Returns true when the guest wrote @reg of @loc; applies it. The page
 * holds little-endian dwords, the image host-order values. */
static bool poll_reg(struct tpmcrb_device *dev, unsigned loc, unsigned idx)
{
    struct crb_core *c = &dev->core;
    uint32_t *word = (uint32_t *)(c->regs + (size_t)loc * TPMCRB_PAGE_SIZE) + idx;
    uint32_t seen = le32_to_host(__atomic_load_n(word, __ATOMIC_ACQUIRE));

    if (seen == c->image[loc][idx])
        return false;
    while (seen != c->image[loc][idx]) {
        uint32_t again;

        device_write_reg_locked(dev, loc, idx * 4, seen);
        again = le32_to_host(__atomic_exchange_n(
            word, host_to_le32(c->image[loc][idx]), __ATOMIC_ACQ_REL));
        if (again == seen)
            break;
        seen = again; /* written again meanwhile: apply that too */
    }
    return true;
}

static bool poll_once(struct tpmcrb_device *dev)
{
    bool active = false;

    pthread_mutex_lock(&dev->lock);
    for (unsigned loc = 0; loc < dev->core.nloc; loc++)
        for (unsigned i = 0; i < CRB_NUM_DWORDS; i++)
            active |= poll_reg(dev, loc, i);
    pthread_mutex_unlock(&dev->lock);
    return active;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull),
                           (long)(ns % 1000000000ull) };

    nanosleep(&ts, NULL);
}

static void *poll_thread(void *arg)
{
    struct tpmcrb_poller *p = arg;
    uint64_t last_activity = crb_now_ns(), sleep = MIN_SLEEP_NS;
    unsigned spins = 0;

    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        if (poll_once(p->dev)) {
            device_run_inline(p->dev);
            last_activity = crb_now_ns();
            sleep = MIN_SLEEP_NS;
        } else if (crb_now_ns() - last_activity < ACTIVE_SPIN_NS) {
            crb_spin_step(&spins);
        } else {
            sleep_ns(sleep);
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
    atomic_store(&dev->inline_exec, true);
    err = pthread_create(&p->thread, NULL, poll_thread, p);
    if (err) {
        LOG_ERROR("cannot start the poll thread: %s", strerror(err));
        atomic_store(&dev->inline_exec, false);
        free(p);
        return -err;
    }
    pthread_setname_np(p->thread, "tpmcrb-poll"); /* for top -H, perf */
    *out = p;
    return 0;
}

void tpmcrb_poller_stop(struct tpmcrb_poller *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    atomic_store(&p->dev->inline_exec, false);
    device_run_inline(p->dev); /* a START seen last must still complete */
    free(p);
}
