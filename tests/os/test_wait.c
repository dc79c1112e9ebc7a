/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OS seam's waiting (src/os/os.h), whichever implementation this build
 * has: a sleeper wakes for a change and only then, a timeout ends a sleep,
 * and no wake-up is lost in a long ping-pong between two threads (a lost
 * one leaves both asleep for good: the test's timeout fails it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/clock.h"
#include "os/os.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUNDS 20000u

struct pair {
    struct os_waitq q[2];
    _Atomic uint32_t word[2];
};

static int setup(void **state)
{
    static struct pair p;

    memset(&p, 0, sizeof(p));
    if (os_waitq_init(&p.q[0]) < 0 || os_waitq_init(&p.q[1]) < 0)
        return -1;
    *state = &p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    os_waitq_destroy(&p->q[0]);
    os_waitq_destroy(&p->q[1]);
    return 0;
}

static void changed_word_returns_at_once(void **state)
{
    struct pair *p = *state;
    uint64_t t0 = crb_now_ns();

    atomic_store(&p->word[0], 1);
    os_wait(&p->q[0], &p->word[0], 0, 0); /* no limit: must not sleep */
    assert_true(crb_now_ns() - t0 < 1000000000ull);
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The timeout ends the sleep, and it is a sleep: the thread spends little
 * CPU time in it. */
static void timeout_ends_the_sleep(void **state)
{
    struct pair *p = *state;
    const uint64_t wait_ns = 50000000ull;
    uint64_t t0, c0, slept;

    atomic_store(&p->word[0], 0); /* what it sleeps on stays 0 */
    t0 = crb_now_ns();
    c0 = cpu_ns();
    /* Spurious wake-ups are allowed; a sleep that ends before the
     * deadline is retried, as callers do. */
    do
        os_wait(&p->q[0], &p->word[0], 0, wait_ns);
    while (crb_now_ns() - t0 < wait_ns);
    slept = crb_now_ns() - t0;
    assert_true(slept >= wait_ns);
    assert_true(slept < 5000000000ull);
    assert_true(cpu_ns() - c0 < wait_ns / 2);
}

/* Thread 1: wait for word[0] to reach n, then set word[1] to n. */
static void *echo(void *arg)
{
    struct pair *p = arg;

    for (uint32_t n = 1; n <= ROUNDS; n++) {
        uint32_t seen;

        while ((seen = atomic_load(&p->word[0])) != n)
            os_wait(&p->q[0], &p->word[0], seen, 0);
        atomic_store(&p->word[1], n);
        os_wake(&p->q[1], &p->word[1], 1);
    }
    return NULL;
}

static void ping_pong_loses_no_wake_up(void **state)
{
    struct pair *p = *state;
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, echo, p), 0);
    for (uint32_t n = 1; n <= ROUNDS; n++) {
        uint32_t seen;

        atomic_store(&p->word[0], n);
        os_wake(&p->q[0], &p->word[0], 1);
        while ((seen = atomic_load(&p->word[1])) != n)
            os_wait(&p->q[1], &p->word[1], seen, 0);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&p->word[1]), ROUNDS);
}

static void thread_gets_its_name(void **state)
{
#ifdef __GLIBC__
    char name[16] = "";

    (void)state;
    os_thread_name(pthread_self(), "tpmcrb-test");
    assert_int_equal(pthread_getname_np(pthread_self(), name, sizeof(name)), 0);
    assert_string_equal(name, "tpmcrb-test");
#else
    (void)state;
    skip();
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changed_word_returns_at_once),
        cmocka_unit_test(timeout_ends_the_sleep),
        cmocka_unit_test(ping_pong_loses_no_wake_up),
        cmocka_unit_test(thread_gets_its_name),
    };

    printf("wait implementation: %s\n", os_wait_impl);
    if (argc > 1 && strcmp(argv[1], os_wait_impl) != 0) {
        fprintf(stderr, "the build chose %s, the library has %s\n", argv[1],
                os_wait_impl);
        return 1;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
