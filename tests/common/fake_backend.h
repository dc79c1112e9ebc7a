/* SPDX-License-Identifier: BSD-3-Clause */
/* A scriptable backend for device tests: echoes a recognisable response,
 * can fail, can block until cancelled, counts what it saw, and offers the
 * fast path (execute_quick) for one command code when asked to. */
#ifndef TPMCRB_FAKE_BACKEND_H
#define TPMCRB_FAKE_BACKEND_H

#include "tpmcrb.h"

#include <pthread.h>
#include <stdatomic.h>

struct fake_backend {
    struct tpmcrb_backend be;
    int fail_with;              /* execute returns this when < 0 */
    _Atomic bool block;         /* execute spins until cancelled/released */
    _Atomic unsigned entered;   /* execute() calls begun */
    _Atomic unsigned executed, cancels;
    unsigned last_locality;
    uint32_t last_len;
    uint8_t last_cmd[4096];
    uint32_t rsp_len;           /* 0: 10-byte success response */
    bool established;
    unsigned reset_est_calls;
    /* A slow backend: the establishment calls take this long; calls made
     * while execute runs are counted (they would race or wait for it). */
    unsigned slow_est_us;
    _Atomic bool running;
    _Atomic unsigned est_calls_while_running;
    /* Commands whose header size disagrees with the length given. */
    _Atomic unsigned size_mismatches;
    /* Fast path: commands with this code run in execute_quick() (0: it
     * declines everything); quick_commit asks for commit() afterwards,
     * which spins while block_commit is set. */
    uint32_t quick_code;
    bool quick_commit;
    _Atomic bool block_commit;
    _Atomic unsigned quick_executed, commits;
    /* The threads that last ran execute() and execute_quick(). */
    pthread_t execute_thread, quick_thread;
};

void fake_backend_init(struct fake_backend *f);
/* Wait (up to 5 s) until execute() has begun @n times; false if it has not:
 * a test that cancels a command while the backend runs it waits here. */
bool fake_backend_wait_entered(struct fake_backend *f, unsigned n);

#endif
