/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench wait`: what sleeping and waking cost in the implementation
 * of src/os/os.h this build has (-Dwait=futex|posix):
 *   pingpong  two threads that hand a counter back and forth, each
 *             sleeping (never spinning) until its turn;
 *   idle      the executor's hand-off when its worker has gone to sleep
 *             (each job after an idle gap longer than the worker spins);
 *   busy      the hand-off back to back, where both sides spin and the
 *             implementation should not matter.
 * The keys carry the implementation's name; scripts/bench-wait.sh runs a
 * futex and a POSIX build side by side and prints the ratios.
 */
#include "exec/executor.h"
#include "os/os.h"
#include "tools/bench/bench.h"
#include "tools/tool.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer than the executor's worker spins before it sleeps. */
#define IDLE_GAP_NS 3000000ull
#define BOUND_US    1000000u

struct pingpong {
    struct os_waitq q[2];
    _Atomic uint32_t word[2];
    uint32_t rounds;
};

static void wait_for(struct pingpong *p, unsigned side, uint32_t n)
{
    uint32_t seen;

    while ((seen = atomic_load(&p->word[side])) != n)
        os_wait(&p->q[side], &p->word[side], seen, 0);
}

static void post(struct pingpong *p, unsigned side, uint32_t n)
{
    atomic_store(&p->word[side], n);
    os_wake(&p->q[side], &p->word[side], 1);
}

static void *echo(void *arg)
{
    struct pingpong *p = arg;

    for (uint32_t n = 1; n <= p->rounds; n++) {
        wait_for(p, 0, n);
        post(p, 1, n);
    }
    return NULL;
}

/* Microseconds per round trip, or a negative errno. */
static double pingpong_us(uint32_t rounds)
{
    struct pingpong p = { .rounds = rounds };
    pthread_t t;
    uint64_t t0;
    int err;

    if ((err = os_waitq_init(&p.q[0])) < 0)
        return err;
    if ((err = os_waitq_init(&p.q[1])) < 0) {
        os_waitq_destroy(&p.q[0]);
        return err;
    }
    if ((err = pthread_create(&t, NULL, echo, &p)) != 0) {
        os_waitq_destroy(&p.q[0]);
        os_waitq_destroy(&p.q[1]);
        return -err;
    }
    t0 = crb_now_ns();
    for (uint32_t n = 1; n <= rounds; n++) {
        post(&p, 0, n);
        wait_for(&p, 1, n);
    }
    pthread_join(t, NULL);
    os_waitq_destroy(&p.q[0]);
    os_waitq_destroy(&p.q[1]);
    return (double)(crb_now_ns() - t0) / 1e3 / rounds;
}

/* A backend that answers at once: only the hand-off is measured. */
static int instant_execute(struct tpmcrb_backend *be, unsigned locality,
                           const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                           uint32_t cap, uint32_t *rsp_len)
{
    (void)be; (void)locality; (void)cmd; (void)len; (void)cap;
    tpm_error_response(rsp, TPM_RC_SUCCESS);
    *rsp_len = TPM_HEADER_SIZE;
    return 0;
}

static const struct tpmcrb_backend_ops instant_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "instant",
    .execute = instant_execute,
};

static void done(void *opaque, const uint8_t *rsp, uint32_t len, int err)
{
    (void)opaque; (void)rsp; (void)len; (void)err;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Median microseconds from submit to done over @jobs jobs, each after
 * @gap_ns of quiet; negative errno on failure. */
static double handoff_us(unsigned jobs, uint64_t gap_ns)
{
    static struct crb_executor e; /* holds a response buffer */
    struct tpmcrb_backend be = { .ops = &instant_ops };
    uint8_t cmd[TPM_HEADER_SIZE];
    uint64_t *ns = calloc(jobs, sizeof(*ns));
    double median;
    int err;

    if (!ns)
        return -ENOMEM;
    tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetRandom, NULL, 0);
    if ((err = crb_executor_start(&e, &be, done, NULL)) < 0) {
        free(ns);
        return err;
    }
    for (unsigned i = 0; i < jobs; i++) {
        uint64_t t0;

        if (gap_ns)
            crb_sleep_ns(gap_ns);
        t0 = crb_now_ns();
        if (!crb_executor_wait(&e, crb_executor_submit(&e, 0, cmd, sizeof(cmd),
                                                       true), BOUND_US)) {
            crb_executor_stop(&e);
            free(ns);
            return -ETIMEDOUT;
        }
        ns[i] = crb_now_ns() - t0;
    }
    crb_executor_stop(&e);
    qsort(ns, jobs, sizeof(*ns), cmp_u64);
    median = (double)ns[jobs / 2] / 1e3;
    free(ns);
    return median;
}

int bench_wait(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 20000;
    unsigned idle_jobs = rounds / 100 ? rounds / 100 : 1;
    double pp, idle, busy;

    if (argc > 2 || !rounds) {
        fprintf(stderr, "usage: tpmcrb bench wait [ROUNDS]\n");
        return EXIT_USAGE;
    }
    if ((pp = pingpong_us(rounds)) < 0 ||
        (idle = handoff_us(idle_jobs, IDLE_GAP_NS)) < 0 ||
        (busy = handoff_us(rounds, 0)) < 0) {
        LOG_ERROR("bench wait failed");
        return EXIT_RUNTIME;
    }
    printf("BENCH wait.%s.pingpong_us_per_round_trip=%.2f\n", os_wait_impl, pp);
    printf("BENCH wait.%s.idle_handoff_median_us=%.2f\n", os_wait_impl, idle);
    printf("BENCH wait.%s.busy_handoff_median_us=%.2f\n", os_wait_impl, busy);
    return EXIT_OK;
}
