/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal KVM monitor with a tpmcrb device: one vCPU running the
 * freestanding guest (guest.c) in 32-bit protected mode, one RAM slot, and
 * the CRB device mapped one of two ways:
 *
 *  - VMM_MAP_ROM (the series' ROM device, tpmcrb's default): the register
 *    pages are a KVM_MEM_READONLY slot backed by the device's own memory,
 *    so reads are plain memory and only writes exit (KVM_EXIT_MMIO →
 *    tpmcrb_write). With the split layout the command buffer page is an
 *    ordinary RAM slot and costs no exit at all.
 *  - VMM_MAP_TRAP (QEMU upstream's way): no slot; every read and write of
 *    the window exits (tpmcrb_read / tpmcrb_write), the buffer included.
 *
 * Jobs for the guest are queued with vmm_add_*() and run with vmm_run();
 * each job's results are in its record (vmm_job()) and the host's view of
 * it (time, exits) in the report vmm_run() fills.
 */
#ifndef KVM_VMM_H
#define KVM_VMM_H

#include "guest_abi.h"
#include "tpmcrb.h"

#include <stdbool.h>
#include <stdint.h>

enum vmm_mapping {
    VMM_MAP_ROM = 0,
    VMM_MAP_TRAP,
};

struct vmm_options {
    enum vmm_mapping mapping;
    /* Device configuration: base (below 4 GiB), layout, localities,
     * sync_bound_us. The monitor supplies the memory and the dirty
     * callback; irq is not wired (the guest polls, as Linux does). */
    struct tpmcrb_config dev;
    struct tpmcrb_backend *be;  /* not owned */
    unsigned timeout_ms;        /* one vmm_run(); 0: 60 s */
    bool quiet;                 /* do not echo the guest's console */
};

/* Exits of the device window by kind, and the guest's port exits. */
struct vmm_exits {
    uint64_t reg_read, reg_write;   /* control registers (0x00..0x7F) */
    uint64_t data_read, data_write; /* in-page buffer or trapped buffer page */
    uint64_t port;                  /* DONE, SLEEP and console */
    uint64_t sleeps, slept_us;      /* SLEEP requests with a non-zero time */
};

/* The host's view of one job: from the previous job's DONE (or the start
 * of the run) to this one's. */
struct vmm_job_report {
    uint64_t ns;
    struct vmm_exits exits;
    uint64_t dev_commands, dev_sync; /* tpmcrb_get_stats() deltas */
};

struct vmm;

/* Open /dev/kvm, create the VM, the device and the vCPU. Returns 0 or a
 * negative errno after a message on stderr; -ENOENT/-EACCES/-ENODEV when
 * KVM itself is unavailable. */
int vmm_create(const struct vmm_options *o, struct vmm **out);
void vmm_destroy(struct vmm *vm);
struct tpmcrb_device *vmm_device(struct vmm *vm);

/* Job list. Each vmm_add_*() returns the job's index or a negative errno
 * (-ENOSPC when the mailbox or its data area is full). */
void vmm_jobs_clear(struct vmm *vm);
int vmm_add_transmit(struct vmm *vm, unsigned locality, const void *cmd,
                     uint32_t len, uint32_t repeat, uint32_t flags);
int vmm_add_write(struct vmm *vm, uint32_t offset, unsigned size,
                  uint32_t value);
int vmm_add_read(struct vmm *vm, uint32_t offset, unsigned size);
int vmm_add_copy(struct vmm *vm, uint32_t offset, const void *data,
                 uint32_t len);

/* Run the guest through the queued jobs. @reports (one per job, may be
 * NULL) receives the host's view. Returns 0 when every job reported done
 * and the guest halted, a negative errno otherwise (-ETIMEDOUT when the
 * deadline passed). Can be called again with a new job list; the device
 * keeps its state. */
int vmm_run(struct vmm *vm, struct vmm_job_report *reports);

/* A job's record after the run (status, rsp_len, result, ready_first) and
 * the response bytes of a TRANSMIT job. */
const struct abi_job *vmm_job(struct vmm *vm, unsigned i);
const uint8_t *vmm_response(struct vmm *vm, unsigned i);

/* Device changes reported through the dirty callback (for the curious). */
uint64_t vmm_dirty_calls(struct vmm *vm);

static inline uint64_t vmm_exits_device(const struct vmm_exits *e)
{
    return e->reg_read + e->reg_write + e->data_read + e->data_write;
}

#endif
