/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory poll transport. The register pages are ordinary guest RAM
 * shared with another process (QEMU with a shared memory backend), so guest
 * writes land in memory without an exit. A device thread asks the device
 * to find and apply them (device_take_guest_writes: each register dword
 * that differs from what was last published is a guest write). Commands
 * run on this thread too (inline mode): while one runs the guest only
 * reads, and a hand-off would add a third spinning thread.
 *
 * Idle, the thread may hand the pages to an idle hub (hub_client.c) and
 * sleep until the hub sees a guest write: hundreds of idle devices then
 * cost one thread's wake-ups instead of hundreds.
 */
#include "core/device_io.h"
#include "os/os.h"
#include "transport/hub_client.h"
#include "transport/poll_internal.h"
#include "util/abi.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* For ACTIVE_NS after a guest write the thread looks again every NAP_NS:
 * a guest busy with commands writes again within microseconds to
 * milliseconds. It naps rather than spins: on a host with more runnable
 * threads than cores a spinning thread that is preempted waits for the
 * scheduler's next round (a tick, milliseconds) while the guest's command
 * sits unseen, whereas a napping thread is woken by its timer and, having
 * used little CPU, gets a CPU back at once (see docs/design.md,
 * "Performance under load"). */
#define NAP_NS           20000ull
#define ACTIVE_NS        3000000ull
/* Then sleep, doubling from MIN_SLEEP_NS, but never longer than a tenth of
 * the time the guest has been quiet and never longer than MAX_SLEEP_NS: a
 * guest's first write after a quiet spell waits for the poll thread at
 * most a tenth of that spell, and an instance nobody uses wakes twenty
 * times a second (hundreds of idle VMs on a host add up, and a timer wake-up is
 * expensive on a virtualised host). The longest sleep is a quarter of the
 * shortest wait of a guest driver for the device (Linux's TPM2 timeout C,
 * 200 ms, for a locality request, cmdReady, goIdle and relinquish), so a first
 * write after a quiet spell is seen in time even when the host delays the
 * poll thread's wake-up. */
#define MIN_SLEEP_NS     20000ull
#define MAX_SLEEP_NS     50000000ull
#define QUIET_SHARE      10u
/* Timer slack while sleeping, as a share of the sleep: lets the system
 * serve the wake-ups of many idle instances together. */
#define SLACK_SHARE      8u
#define DEFAULT_SLACK_NS 50000ull
/* With an idle hub (tpmcrb_poll_options.hub_socket): once the sleeps have
 * reached their cap, the thread hands the register pages to the hub and
 * sleeps until the hub sees a guest write, so that one thread on the host
 * wakes for all idle devices. The watchdog looks at the pages every
 * WATCHDOG_NS (plus its timer slack) anyway: a hub that is alive but stuck
 * delays a guest by at most that (a hub that dies is noticed at once).
 * It is the idle device's only wake-up, so its period is what an idle
 * device costs: a shorter one would bring a stuck hub's delay nearer
 * Linux's timeout C, at the price of a timer wake-up of every idle
 * instance that often (see docs/design.md, "The idle hub"). */
#define HAND_OFF_NS      (QUIET_SHARE * MAX_SLEEP_NS)
#define WATCHDOG_NS      500000000ull

/* Counted per ending of a sleep on the hub, and said in the debug log with
 * how long the sleep was: a guest write that the watchdog finds instead of
 * the hub's WAKE came in the hub's last period before the watchdog, or the
 * hub was late or missed it (the write's wait tells them apart). */
enum hub_count {
    COUNT_ARMS, COUNT_ARM_RECHECK, COUNT_HUB_WAKES, COUNT_HUB_STALE,
    COUNT_WATCHDOG_QUIET, COUNT_WATCHDOG_FOUND, COUNT_HUB_LOST, NUM_COUNTS
};

struct tpmcrb_poller {
    struct tpmcrb_device *dev;
    struct hub_client *hub;     /* NULL: no idle hub */
    pthread_t thread;
    _Atomic bool stop;
    _Atomic uint64_t hand_off_ns, watchdog_ns;
    _Atomic uint64_t counts[NUM_COUNTS];   /* written by the poll thread */
};

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

/* The thread's timer slack for sleeps of @sleep_ns; set only on change. */
static void set_slack(uint64_t *slack, uint64_t sleep_ns)
{
    uint64_t want = sleep_ns / SLACK_SHARE > DEFAULT_SLACK_NS ?
                    sleep_ns / SLACK_SHARE : DEFAULT_SLACK_NS;

    if (want != *slack) {
        os_timer_slack(want);
        *slack = want;
    }
}

static void count(struct tpmcrb_poller *p, enum hub_count c)
{
    atomic_store_explicit(&p->counts[c],
                          atomic_load_explicit(&p->counts[c], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* What the look after a sleep on the hub found, ended by @why, @slept_ns
 * long; @wrote: a guest write. */
static void count_wake(struct tpmcrb_poller *p, enum hub_wait_result why,
                       bool wrote, uint64_t slept_ns)
{
    unsigned long long ms = slept_ns / 1000000u;

    switch (why) {
    case HUB_WOKEN:
        count(p, wrote ? COUNT_HUB_WAKES : COUNT_HUB_STALE);
        LOG_DEBUG("woken by the hub after %llu ms asleep%s", ms,
                  wrote ? "" : "; nothing written (a stale wake-up)");
        break;
    case HUB_WATCHDOG:
        count(p, wrote ? COUNT_WATCHDOG_FOUND : COUNT_WATCHDOG_QUIET);
        if (wrote)
            LOG_DEBUG("the watchdog found a guest write the hub had not reported "
                      "(yet), after %llu ms asleep (%llu times so far)", ms,
                      (unsigned long long)atomic_load(&p->counts[COUNT_WATCHDOG_FOUND]));
        break;
    case HUB_LOST:
        count(p, COUNT_HUB_LOST);
        LOG_DEBUG("the hub went away after %llu ms asleep%s", ms,
                  wrote ? "; a guest write was waiting" : "");
        break;
    case HUB_STOPPING:
        break;
    }
}

static void *poll_thread(void *arg)
{
    struct tpmcrb_poller *p = arg;
    uint64_t last_activity = crb_now_ns(), sleep = MIN_SLEEP_NS / 2;
    uint64_t slack = DEFAULT_SLACK_NS, quiet = 0, slept = 0;
    bool hub_armed = false, just_armed = false, woke = false;
    enum hub_wait_result why = HUB_WATCHDOG;

    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        bool wrote = device_take_guest_writes(p->dev);

        if (woke)
            count_wake(p, why, wrote, slept);
        else if (just_armed && wrote)
            count(p, COUNT_ARM_RECHECK);
        woke = just_armed = false;
        if (wrote) {
            device_run_pending(p->dev);
            last_activity = crb_now_ns();
            quiet = 0;
            sleep = MIN_SLEEP_NS / 2;
            hub_armed = false; /* a WAKE for these writes may follow: harmless */
            set_slack(&slack, 0);
        } else if (!quiet &&
                   crb_now_ns() - last_activity < ACTIVE_NS) {
            crb_sleep_ns(NAP_NS);
        } else if (hub_armed) {
            /* Asleep while the hub watches the pages; any ending but the
             * watchdog's means it watches them no longer: look at them
             * (and arm the hub again if the guest is still quiet). */
            uint64_t t0 = crb_now_ns();
            uint64_t wd = atomic_load_explicit(&p->watchdog_ns, memory_order_relaxed);

            set_slack(&slack, wd);
            why = hub_client_wait(p->hub, wd);
            slept = crb_now_ns() - t0;
            woke = true;
            hub_armed = why == HUB_WATCHDOG;
        } else if (p->hub &&
                   quiet >= atomic_load_explicit(&p->hand_off_ns, memory_order_relaxed) &&
                   (hub_armed = hub_client_arm(p->hub))) {
            /* The hub watches from its ACK on; writes before it are ours
             * to see, at the top of the loop. */
            count(p, COUNT_ARMS);
            just_armed = true;
        } else {
            /* Backing off: the quiet time is the sum of the sleeps
             * (each lasts at least as long as asked), so an idle wake-up
             * reads no clock. */
            if (!quiet)
                quiet = ACTIVE_NS;
            sleep = next_sleep(sleep, quiet);
            set_slack(&slack, sleep);
            crb_sleep_ns(sleep);
            quiet += sleep;
        }
    }
    return NULL;
}

void poller_get_counts(struct tpmcrb_poller *p, struct poller_counts *out)
{
    uint64_t c[NUM_COUNTS];

    for (unsigned i = 0; i < NUM_COUNTS; i++)
        c[i] = atomic_load_explicit(&p->counts[i], memory_order_relaxed);
    *out = (struct poller_counts){
        .arms = c[COUNT_ARMS], .arm_recheck = c[COUNT_ARM_RECHECK],
        .hub_wakes = c[COUNT_HUB_WAKES], .hub_stale = c[COUNT_HUB_STALE],
        .watchdog_quiet = c[COUNT_WATCHDOG_QUIET],
        .watchdog_found = c[COUNT_WATCHDOG_FOUND], .hub_lost = c[COUNT_HUB_LOST],
    };
}

void poller_set_timing(struct tpmcrb_poller *p, uint64_t hand_off_ns,
                       uint64_t watchdog_ns)
{
    atomic_store(&p->hand_off_ns, hand_off_ns);
    atomic_store(&p->watchdog_ns, watchdog_ns);
}

int tpmcrb_poller_start_with(struct tpmcrb_device *dev,
                             const struct tpmcrb_poll_options *o,
                             struct tpmcrb_poller **out)
{
    struct tpmcrb_poller *p;
    int err;

    if (o && CRB_ABI_CHECK(o, struct tpmcrb_poll_options) < 0)
        return -EINVAL;
    if (!(p = calloc(1, sizeof(*p))))
        return -ENOMEM;
    p->dev = dev;
    p->hand_off_ns = HAND_OFF_NS;
    p->watchdog_ns = WATCHDOG_NS;
    if (o && o->hub_socket &&
        (err = hub_client_new(o->hub_socket, o->mem_fd, o->mem_offset,
                              device_localities(dev), &p->hub)) < 0) {
        LOG_ERROR("idle hub %s: %s", o->hub_socket, strerror(-err));
        free(p);
        return err;
    }
    device_set_inline(dev, true);
    err = pthread_create(&p->thread, NULL, poll_thread, p);
    if (err) {
        LOG_ERROR("cannot start the poll thread: %s", strerror(err));
        device_set_inline(dev, false);
        hub_client_free(p->hub);
        free(p);
        return -err;
    }
    os_thread_name(p->thread, "tpmcrb-poll"); /* for top -H, perf */
    *out = p;
    return 0;
}

int tpmcrb_poller_start(struct tpmcrb_device *dev, struct tpmcrb_poller **out)
{
    return tpmcrb_poller_start_with(dev, NULL, out);
}

void tpmcrb_poller_stop(struct tpmcrb_poller *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    if (p->hub)
        hub_client_interrupt(p->hub);
    pthread_join(p->thread, NULL);
    hub_client_free(p->hub);
    device_set_inline(p->dev, false);
    device_run_pending(p->dev); /* a START seen last must still complete */
    free(p);
}
