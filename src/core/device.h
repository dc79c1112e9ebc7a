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
    /* The fast path (backends with execute_quick, devices with a sync
     * bound): START leaves the command to the thread that wrote it, which
     * offers it to execute_quick() before any hand-off, so that a quick
     * command needs no second thread. commit_pending: the worker's next
     * job is the backend's commit() of such a command, whose response
     * waits in rsp meanwhile. */
    _Atomic bool quick_pending;
    bool no_fast_path;          /* device_set_fast_path() */
    bool commit_pending;
    uint32_t rsp_len;
    /* Snapshot support (guarded by lock): while paused a START is not given
     * to the backend but held in the core, where a snapshot captures it;
     * resume submits it. */
    bool paused, held;
    uint32_t last_seq;          /* job number of the latest START */
    void *regs_alloc, *buffer_alloc;
    uint8_t rsp[CRB_MAX_BUFFER];

    _Atomic uint64_t n_writes, n_commands, n_sync, n_errors, n_quick;
};

/* Apply one register dword written by the guest (poll transport). Returns
 * true when it started a command. The caller holds dev->lock. */
bool device_write_reg_locked(struct tpmcrb_device *dev, unsigned loc,
                             uint32_t reg, uint32_t value);

/* Benchmarks: with @on false every command goes through the worker, as on
 * a backend without execute_quick(). Before the first command. */
void device_set_fast_path(struct tpmcrb_device *dev, bool on);

/* Run a command that START left for the poll thread (without the lock). */
void device_run_inline(struct tpmcrb_device *dev);

#endif
