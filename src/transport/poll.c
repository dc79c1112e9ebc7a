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
#include "os/os.h"
#include "util/byteorder.h"
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* Spin this long after the last guest write: a Linux guest's next write
 * follows within microseconds while it works. */
#define ACTIVE_SPIN_NS   3000000ull
/* Then sleep, doubling from MIN_SLEEP_NS, but never longer than a tenth of
 * the time the guest has been quiet and never longer than MAX_SLEEP_NS: a
 * guest's first write after a quiet spell waits for the poll thread at
 * most a tenth of that spell, and an instance nobody uses wakes five times
 * a second (hundreds of idle VMs on a host add up; a timer wake-up costs
 * microseconds of CPU on a virtualised host). */
#define MIN_SLEEP_NS     20000ull
#define MAX_SLEEP_NS     200000000ull
#define QUIET_SHARE      10u
/* Timer slack while sleeping long, as a share of the sleep: lets the
 * kernel serve the wake-ups of many idle instances with one timer. */
#define SLACK_SHARE      8u
#define DEFAULT_SLACK_NS 50000ull

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

/* The next sleep of a quiet guest: double the last, within the caps. */
static uint64_t next_sleep(uint64_t last, uint64_t quiet_ns)
{
    uint64_t cap = quiet_ns / QUIET_SHARE;

    if (cap > MAX_SLEEP_NS)
        cap = MAX_SLEEP_NS;
    if (cap < MIN_SLEEP_NS)
        cap = MIN_SLEEP_NS;
    return last * 2 < cap ? last * 2 : cap;
}

/* This thread's timer slack for sleeps of @sleep (prctl only on change). */
static void set_slack(uint64_t *slack, uint64_t sleep)
{
    uint64_t want = sleep / SLACK_SHARE > DEFAULT_SLACK_NS ?
                    sleep / SLACK_SHARE : DEFAULT_SLACK_NS;

    if (want != *slack && prctl(PR_SET_TIMERSLACK, (unsigned long)want) == 0)
        *slack = want;
}

static void *poll_thread(void *arg)
{
    struct tpmcrb_poller *p = arg;
    uint64_t last_activity = crb_now_ns(), sleep = MIN_SLEEP_NS / 2;
    uint64_t slack = DEFAULT_SLACK_NS;
    unsigned spins = 0;

    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        uint64_t quiet;

        if (poll_once(p->dev)) {
            device_run_inline(p->dev);
            last_activity = crb_now_ns();
            sleep = MIN_SLEEP_NS / 2;
            set_slack(&slack, 0);
        } else if ((quiet = crb_now_ns() - last_activity) < ACTIVE_SPIN_NS) {
            crb_spin_step(&spins);
        } else {
            sleep = next_sleep(sleep, quiet);
            set_slack(&slack, sleep);
            sleep_ns(sleep);
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
    atomic_store(&p->dev->inline_exec, false);
    device_run_inline(p->dev); /* a START seen last must still complete */
    free(p);
}
