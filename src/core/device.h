/* SPDX-License-Identifier: BSD-3-Clause */
/* The device: the CRB core behind a lock, its executor and its backend.
 * Internal to the core (device.c, migrate.c); transports use
 * core/device_io.h. */
#ifndef TPMCRB_DEVICE_H
#define TPMCRB_DEVICE_H

#include "core/crb.h"
#include "exec/executor.h"

#include <pthread.h>

struct tpmcrb_device {
    struct tpmcrb_config cfg;
    struct tpmcrb_backend *be;
    pthread_mutex_t lock;       /* guards core */
    struct crb_core core;
    struct crb_executor exec;
    bool resumed;
    /* Snapshot support (guarded by lock): while paused a START is not given
     * to the backend but held in the core, where a snapshot captures it;
     * resume submits it. */
    bool paused, held;
    /* A reset gave up waiting for the command with the backend: its late
     * response is dropped, and a new START waits (held) until then. */
    bool abandoned;
    unsigned reset_wait_ms;     /* how long a reset waits for a command */
    uint32_t last_seq;          /* job number of the latest START */
    void *regs_alloc, *buffer_alloc;

    _Atomic uint64_t n_writes, n_commands, n_sync, n_errors;
};

#endif
