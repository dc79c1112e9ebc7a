/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Thousands of hand-overs to the idle hub, with a guest write put at every
 * step of each: before the device sends ARM (after its last look of its
 * own), right after ARM is sent (the hub may or may not have copied the
 * registers yet), a little after it (the hub has copied, the device has
 * not yet seen the ACK), right after the ACK (before the device's last
 * look), while the device sleeps on the hub, and at random moments. The
 * hub runs in a thread of this process with test hooks that make it slow
 * before and after its copy, and now and then so slow that the device
 * gives up waiting for the ACK while the hub arms the watch.
 *
 * The watchdog of a sleep on the hub is set to 30 s: a write that neither
 * the device's own look nor the hub sees waits for it, which no host stall
 * explains. Every write must be answered within 3 s, and the watchdog
 * must never be the one to find a write (poller counts); the counts also
 * show that every step was exercised.
 * usage: hub-stress [CYCLES_PER_DEVICE]
 */
#include "core/regs.h"
#include "fake_backend.h"
#include "tools/serve/hub.h"
#include "transport/hub_client.h"
#include "transport/poll_internal.h"
#include "util/byteorder.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEVICES        16u
#define PERIOD_MS      5u
#define HAND_OFF_NS    10000000ull
#define WATCHDOG_NS    30000000000ull
#define LOST_NS        3000000000ull
/* How long a guest waits for the device to reach a step of its hand-over
 * before writing anyway (the device may be polling by itself after giving
 * up a slow hub). */
#define STEP_WAIT_NS   500000000ull

enum phase {
    PH_BEFORE_ARM, PH_ARM_SENT, PH_ARM_SENT_LATE, PH_ACKED, PH_ASLEEP,
    PH_RANDOM, NUM_PHASES
};

static const char *const phase_names[NUM_PHASES] = {
    "before ARM", "ARM sent", "ARM sent + 2 ms", "ACK seen", "asleep on the hub",
    "random",
};

struct guest {
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller;
    struct fake_backend fake;
    uint8_t *regs;
    _Atomic int plan;              /* a phase the hook is to write at, or -1 */
    _Atomic uint32_t value;        /* the LOC_CTRL value to write */
    _Atomic uint64_t written_at;   /* 0: not yet written this cycle */
    _Atomic unsigned acks;         /* HUB_STEP_ACKED seen */
    unsigned cycles, fallbacks, lost;
    unsigned n[NUM_PHASES];
    double max_ms[NUM_PHASES], sum_ms[NUM_PHASES];
};

static struct guest guests[DEVICES];
static size_t regs_size;
static _Atomic unsigned hub_arms;

static void guest_write(struct guest *g)
{
    atomic_store(&g->written_at, crb_now_ns());
    le32_store_release((uint32_t *)(g->regs + CRB_LOC_CTRL), atomic_load(&g->value));
}

/* The guest's write, by whoever claims the plan first. */
static bool claim_and_write(struct guest *g, int plan)
{
    if (!atomic_compare_exchange_strong(&g->plan, &plan, -1))
        return false;
    guest_write(g);
    return true;
}

/* The step of the hand-over at which each planned write is made. */
static const enum hub_arm_step step_of[] = {
    [PH_BEFORE_ARM] = HUB_STEP_BEFORE_ARM,
    [PH_ARM_SENT] = HUB_STEP_ARM_SENT,
    [PH_ARM_SENT_LATE] = HUB_STEP_ARM_SENT,
    [PH_ACKED] = HUB_STEP_ACKED,
};

/* On a device's poll thread, in hub_client_arm(). */
static void client_hook(uint64_t offset, enum hub_arm_step step)
{
    struct guest *g = &guests[offset / regs_size];
    int plan = atomic_load(&g->plan);

    if (step == HUB_STEP_ACKED)
        atomic_fetch_add(&g->acks, 1);
    if (plan < 0 || plan > PH_ACKED || step_of[plan] != step)
        return;
    if (plan == PH_ARM_SENT_LATE)
        usleep(2000); /* the hub has copied by now, most likely */
    claim_and_write(g, plan);
}

/* On the hub's thread: slow before or after the copy now and then, and
 * once, late in the run, slower than the devices wait for the ACK: those
 * waiting then give the hub up (it has armed their watch all the same) and
 * poll by themselves for the 10 s before they try it again. */
static void hub_hook(bool copied)
{
    unsigned n = copied ? atomic_load(&hub_arms) : atomic_fetch_add(&hub_arms, 1) + 1;

    if (!copied && n % 11 == 0)
        usleep(1000);
    if (copied && n % 7 == 0)
        usleep(1000);
    if (copied && n == 2000)
        usleep(70000);
}

static bool assigned(struct guest *g)
{
    return le32_load_acquire((const uint32_t *)(g->regs + CRB_LOC_STATE)) &
           LOC_STATE_ASSIGNED;
}

static void sleep_ms_random(unsigned max_ms, unsigned *seed)
{
    crb_sleep_ns((uint64_t)(rand_r(seed) % (max_ms * 1000u + 1)) * 1000ull);
}

static void *guest_thread(void *arg)
{
    struct guest *g = arg;
    unsigned idx = (unsigned)(g - guests), seed = idx * 7919u + 1;

    for (unsigned c = 0; c < g->cycles; c++) {
        enum phase ph = (enum phase)((c + idx) % NUM_PHASES);
        bool want = !assigned(g);
        uint64_t t0, answered;
        double ms;

        atomic_store(&g->value, want ? LOC_CTRL_REQUEST : LOC_CTRL_RELINQUISH);
        atomic_store(&g->written_at, 0);
        if (ph <= PH_ACKED) {
            atomic_store(&g->plan, (int)ph);
            t0 = crb_now_ns();
            while (!atomic_load(&g->written_at) && crb_now_ns() - t0 < STEP_WAIT_NS)
                crb_sleep_ns(100000);
            if (claim_and_write(g, (int)ph))
                g->fallbacks++;
        } else if (ph == PH_ASLEEP) {
            unsigned acks = atomic_load(&g->acks);

            t0 = crb_now_ns();
            while (atomic_load(&g->acks) == acks && crb_now_ns() - t0 < STEP_WAIT_NS)
                crb_sleep_ns(100000);
            if (atomic_load(&g->acks) == acks)
                g->fallbacks++;
            sleep_ms_random(3 * PERIOD_MS, &seed);
            guest_write(g);
        } else {
            sleep_ms_random(3 * HAND_OFF_NS / 1000000u, &seed);
            guest_write(g);
        }
        while (assigned(g) != want &&
               crb_now_ns() - atomic_load(&g->written_at) < LOST_NS)
            crb_sleep_ns(50000);
        answered = crb_now_ns();
        if (assigned(g) != want) {
            fprintf(stderr, "hub-stress: device %u, cycle %u, write %s: no answer "
                    "within %llu s: a lost wake-up\n", idx, c, phase_names[ph],
                    LOST_NS / 1000000000ull);
            g->lost++;
            break;
        }
        ms = (double)(answered - atomic_load(&g->written_at)) / 1e6;
        g->n[ph]++;
        g->sum_ms[ph] += ms;
        if (ms > g->max_ms[ph])
            g->max_ms[ph] = ms;
    }
    return NULL;
}

/* The hub stops as `tpmcrb serve-hub` does, on a signal: sent to its
 * thread, whose epoll_wait() it interrupts. */
static volatile sig_atomic_t hub_stop;

static void on_stop(int sig)
{
    (void)sig;
    hub_stop = 1;
}

static void *hub_thread(void *arg)
{
    return (void *)(intptr_t)hub_run(arg, &hub_stop);
}

int main(int argc, char **argv)
{
    unsigned cycles = argc > 1 ? (unsigned)atoi(argv[1]) : 250;
    char dir[] = "/tmp/tpmcrb-hub-stress.XXXXXX", sock[64], shm[64];
    struct hub_options ho = { .socket_path = sock, .period_ms = PERIOD_MS,
                              .max_devices = 64 };
    struct poller_counts total = { 0 };
    struct tpmcrb_config cfg;
    unsigned lost = 0, fallbacks = 0, n = 0;
    pthread_t hub, th[DEVICES];
    uint8_t *win;
    void *hub_rc;
    int fd;

    /* The devices that give up the slow hub warn; the counts say it. */
    tpmcrb_log_set(TPMCRB_LOG_ERROR, NULL, NULL);
    tpmcrb_config_init(&cfg);
    cfg.sync_bound_us = 0; /* nobody waits in a write in poll mode */
    regs_size = tpmcrb_regs_size(&cfg);
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    snprintf(sock, sizeof(sock), "%s/hub", dir);
    /* The hub watches shared memory files only. */
    snprintf(shm, sizeof(shm), "/dev/shm/tpmcrb-hub-stress.%d", (int)getpid());
    fd = open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)(regs_size * DEVICES)) < 0)
        return perror(shm), 1;
    unlink(shm);
    win = mmap(NULL, regs_size * DEVICES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (win == MAP_FAILED)
        return perror("mmap"), 1;

    sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_stop }, NULL);
    hub_test_hook = hub_hook;
    hub_client_test_hook = client_hook;
    if (pthread_create(&hub, NULL, hub_thread, &ho))
        return 1;
    while (access(sock, F_OK) < 0)
        crb_sleep_ns(1000000);

    for (unsigned i = 0; i < DEVICES; i++) {
        struct guest *g = &guests[i];
        struct tpmcrb_config c = cfg;
        struct tpmcrb_poll_options po = {
            .size = sizeof(po), .hub_socket = sock, .mem_fd = fd,
            .mem_offset = i * regs_size,
        };

        g->regs = win + i * regs_size;
        g->plan = -1;
        g->cycles = cycles;
        c.regs_mem = g->regs;
        fake_backend_init(&g->fake);
        if (tpmcrb_device_new(&c, &g->fake.be, &g->dev) < 0 ||
            tpmcrb_poller_start_with(g->dev, &po, &g->poller) < 0) {
            fprintf(stderr, "hub-stress: device %u does not start\n", i);
            return 1;
        }
        poller_set_timing(g->poller, HAND_OFF_NS, WATCHDOG_NS);
    }
    for (unsigned i = 0; i < DEVICES; i++)
        pthread_create(&th[i], NULL, guest_thread, &guests[i]);
    for (unsigned i = 0; i < DEVICES; i++)
        pthread_join(th[i], NULL);

    for (unsigned i = 0; i < DEVICES; i++) {
        struct poller_counts pc;

        poller_get_counts(guests[i].poller, &pc);
        tpmcrb_poller_stop(guests[i].poller);
        tpmcrb_device_free(guests[i].dev);
        total.arms += pc.arms;
        total.arm_recheck += pc.arm_recheck;
        total.hub_wakes += pc.hub_wakes;
        total.hub_stale += pc.hub_stale;
        total.watchdog_quiet += pc.watchdog_quiet;
        total.watchdog_found += pc.watchdog_found;
        total.hub_lost += pc.hub_lost;
        lost += guests[i].lost;
        fallbacks += guests[i].fallbacks;
    }
    pthread_kill(hub, SIGUSR1);
    pthread_join(hub, &hub_rc);
    rmdir(dir);

    for (unsigned ph = 0; ph < NUM_PHASES; ph++) {
        unsigned k = 0;
        double sum = 0, max = 0;

        for (unsigned i = 0; i < DEVICES; i++) {
            k += guests[i].n[ph];
            sum += guests[i].sum_ms[ph];
            if (guests[i].max_ms[ph] > max)
                max = guests[i].max_ms[ph];
        }
        n += k;
        printf("hub-stress: write %-18s %5u answered, mean %6.2f ms, max %7.2f ms\n",
               phase_names[ph], k, k ? sum / k : 0.0, max);
    }
    printf("hub-stress: %u writes on %u devices; %u hub ARMs acknowledged (the hub "
           "handled %u); the device's look after the ACK found a write %llu times; "
           "hub wake-ups %llu (stale %llu); watchdog %llu (with a write %llu); hub "
           "lost %llu; a step not reached in time %u times\n",
           n, DEVICES, (unsigned)total.arms, atomic_load(&hub_arms),
           (unsigned long long)total.arm_recheck,
           (unsigned long long)total.hub_wakes, (unsigned long long)total.hub_stale,
           (unsigned long long)total.watchdog_quiet,
           (unsigned long long)total.watchdog_found, (unsigned long long)total.hub_lost,
           fallbacks);
    /* A device whose guest has finished sleeps on until the others have:
     * its watchdog may end such a sleep, but never find a write. */
    if (lost || total.watchdog_found) {
        printf("FAIL: %u writes never answered; the watchdog found %llu writes "
               "the hub had not reported\n", lost,
               (unsigned long long)total.watchdog_found);
        return 1;
    }
    /* Every step of the hand-over was exercised: writes the device's own
     * look caught after the ACK, and writes the hub reported. */
    if (!total.arm_recheck || !total.hub_wakes || total.arms < n / 2 || hub_rc) {
        printf("FAIL: the hand-over was not exercised as intended\n");
        return 1;
    }
    printf("hub-stress: ok\n");
    return 0;
}
