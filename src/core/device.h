/* SPDX-License-Identifier: BSD-3-Clause */
/* The device: the CRB core behind a lock, its executor and its backend.
 * Internal: the transports reach the core through this. */
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
    /* Poll mode runs commands on the poll thread itself: one spinning
     * thread fewer than a hand-off to the worker, on hosts with few cores. */
    _Atomic bool inline_exec, inline_pending;
    /* Snapshot support (guarded by lock): while paused a START is not given
     * to the backend but held in the core, where a snapshot captures it;
     * resume submits it. */
    bool paused, held;
    uint32_t last_seq;          /* job number of the latest START */
    void *regs_alloc, *buffer_alloc;
    uint8_t rsp[CRB_MAX_BUFFER];

    _Atomic uint64_t n_writes, n_commands, n_sync, n_errors;
};

/* Apply one register dword written by the guest (poll transport). Returns
 * true when it started a command. The caller holds dev->lock. */
bool device_write_reg_locked(struct tpmcrb_device *dev, unsigned loc,
                             uint32_t reg, uint32_t value);

/* Run a command that START left for the poll thread (without the lock). */
void device_run_inline(struct tpmcrb_device *dev);

#endif
