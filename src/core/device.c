/* SPDX-License-Identifier: BSD-3-Clause */
/* Public device API: configuration, memory, the lock around the core, the
 * glue between the core and the executor, and the door the transports use
 * (core/device_io.h). */
#include "core/device.h"
#include "core/device_io.h"
#include "util/abi.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FREE_TIMEOUT_MS 30000u

void tpmcrb_config_init(struct tpmcrb_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->base = TPMCRB_X86_BASE;
    cfg->layout = TPMCRB_LAYOUT_SPLIT;
    cfg->localities = TPMCRB_MAX_LOCALITIES;
    cfg->sync_bound_us = TPMCRB_SYNC_BOUND_DEFAULT_US;
    cfg->fast_path = true;
}

uint64_t tpmcrb_regs_size(const struct tpmcrb_config *cfg)
{
    return (uint64_t)cfg->localities * TPMCRB_PAGE_SIZE;
}

uint64_t tpmcrb_window_size(const struct tpmcrb_config *cfg)
{
    return tpmcrb_regs_size(cfg) +
           (cfg->layout == TPMCRB_LAYOUT_SPLIT ? TPMCRB_SPLIT_BUFFER_SIZE : 0);
}

uint64_t tpmcrb_buffer_addr(const struct tpmcrb_config *cfg)
{
    if (cfg->layout == TPMCRB_LAYOUT_SPLIT)
        return cfg->base + tpmcrb_regs_size(cfg);
    return cfg->base + TPMCRB_COMPAT_BUFFER_OFFSET;
}

uint32_t tpmcrb_buffer_size(const struct tpmcrb_config *cfg)
{
    return cfg->layout == TPMCRB_LAYOUT_SPLIT ? TPMCRB_SPLIT_BUFFER_SIZE
                                              : TPMCRB_COMPAT_BUFFER_SIZE;
}

static int check_config(const struct tpmcrb_config *cfg)
{
    const char *problem = crb_geometry_problem(cfg->base, cfg->layout,
                                               cfg->localities, false);

    if (problem) {
        LOG_ERROR("device: %s (base %#llx, layout %d, %u localities)", problem,
                  (unsigned long long)cfg->base, (int)cfg->layout,
                  cfg->localities);
        return -EINVAL;
    }
    if (((uintptr_t)cfg->regs_mem | (uintptr_t)cfg->buffer_mem) & 3) {
        LOG_ERROR("device memory must be 4-byte aligned");
        return -EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------ core hooks */

static void hook_submit(void *opaque, unsigned locality, uint32_t len)
{
    struct tpmcrb_device *dev = opaque;

    /* Paused for a snapshot: the command stays in the core, where the
     * snapshot captures it, and reaches the backend at resume. After a
     * reset that gave up on a command, it waits for that one to end. */
    if (dev->paused || dev->abandoned)
        dev->held = true;
    else
        dev->last_seq = crb_executor_submit(&dev->exec, locality,
                                            crb_cmd(&dev->core), len, false);
}

static void hook_cancel(void *opaque)
{
    struct tpmcrb_device *dev = opaque;

    crb_executor_cancel(&dev->exec);
}

static bool hook_get_established(void *opaque)
{
    struct tpmcrb_device *dev = opaque;

    return dev->be->ops->get_established ?
           dev->be->ops->get_established(dev->be) : true;
}

static void hook_reset_established(void *opaque, unsigned locality)
{
    struct tpmcrb_device *dev = opaque;

    if (dev->be->ops->reset_established &&
        dev->be->ops->reset_established(dev->be, locality) < 0)
        LOG_WARN("backend could not reset the established flag");
}

static void hook_dirty(void *opaque, uint64_t offset, uint64_t len)
{
    struct tpmcrb_device *dev = opaque;

    if (dev->cfg.dirty)
        dev->cfg.dirty(dev->cfg.opaque, offset, len);
}

static void hook_irq(void *opaque, bool level)
{
    struct tpmcrb_device *dev = opaque;

    if (dev->cfg.irq)
        dev->cfg.irq(dev->cfg.opaque, level);
}

/* The executor's thread, after the backend ran the command: the core did
 * not touch cmd/cmd_len meanwhile (busy). */
static void command_done(void *opaque, const uint8_t *rsp, uint32_t len,
                         int err)
{
    struct tpmcrb_device *dev = opaque;
    unsigned loc;

    if (err < 0)
        atomic_fetch_add(&dev->n_errors, 1);
    pthread_mutex_lock(&dev->lock);
    /* resetEstablishment written while the command ran: told to the
     * backend here, on the thread that runs the commands and before the
     * guest sees the completion; never from a vCPU thread, never beside a
     * running command. The lock is dropped meanwhile: writes go on. */
    while (!dev->abandoned && (loc = dev->core.reset_est_pending)) {
        dev->core.reset_est_pending = 0;
        pthread_mutex_unlock(&dev->lock);
        hook_reset_established(dev, loc - 1);
        pthread_mutex_lock(&dev->lock);
    }
    if (dev->abandoned) {
        /* The guest reset since: this response is of no command of its. */
        LOG_WARN("a response that outlived a reset was dropped");
        dev->abandoned = false;
        if (dev->held && !dev->paused) {
            dev->held = false;
            /* To the worker: the START write that would wait for it
             * has long returned. */
            dev->last_seq = crb_executor_submit(&dev->exec,
                                                dev->core.busy_loc,
                                                crb_cmd(&dev->core),
                                                dev->core.cmd_len, true);
        }
    } else {
        crb_complete(&dev->core, rsp, len, err);
    }
    pthread_mutex_unlock(&dev->lock);
    crb_executor_kick(&dev->exec); /* the resubmission, from the fast path */
}

/* ------------------------------------------------------------ lifecycle */

static void *alloc_page_memory(size_t size)
{
    void *p = aligned_alloc(TPMCRB_PAGE_SIZE, size);

    if (p)
        memset(p, 0, size);
    return p;
}

static int setup_memory(struct tpmcrb_device *dev)
{
    struct tpmcrb_config *cfg = &dev->cfg;

    if (!cfg->regs_mem)
        cfg->regs_mem = dev->regs_alloc =
            alloc_page_memory(tpmcrb_regs_size(cfg));
    if (!cfg->buffer_mem && cfg->layout == TPMCRB_LAYOUT_SPLIT)
        cfg->buffer_mem = dev->buffer_alloc =
            alloc_page_memory(TPMCRB_SPLIT_BUFFER_SIZE);
    if (!cfg->regs_mem ||
        (cfg->layout == TPMCRB_LAYOUT_SPLIT && !cfg->buffer_mem))
        return -ENOMEM;
    return 0;
}

static void release(struct tpmcrb_device *dev)
{
    free(dev->regs_alloc);
    free(dev->buffer_alloc);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

int tpmcrb_device_new(const struct tpmcrb_config *cfg,
                      struct tpmcrb_backend *be, struct tpmcrb_device **out)
{
    const struct crb_hooks hooks = {
        .submit = hook_submit, .cancel = hook_cancel,
        .get_established = hook_get_established,
        .reset_established = hook_reset_established,
        .dirty = hook_dirty, .irq = hook_irq,
    };
    struct crb_hooks h = hooks;
    struct tpmcrb_device *dev;
    int err;

    if (!cfg || !be || !be->ops || !out)
        return -EINVAL;
    if (CRB_ABI_CHECK(cfg, struct tpmcrb_config) < 0 ||
        CRB_ABI_CHECK(be->ops, struct tpmcrb_backend_ops) < 0)
        return -EINVAL;
    if ((err = check_config(cfg)) < 0)
        return err;
    dev = calloc(1, sizeof(*dev));
    if (!dev)
        return -ENOMEM;
    dev->cfg = *cfg;
    dev->be = be;
    dev->reset_wait_ms = FREE_TIMEOUT_MS;
    pthread_mutex_init(&dev->lock, NULL);
    if ((err = setup_memory(dev)) < 0)
        goto fail;
    err = be->ops->power_on(be, tpmcrb_buffer_size(cfg), &dev->resumed);
    if (err < 0) {
        LOG_ERROR("backend %s did not power on: %s", be->ops->name,
                  strerror(-err));
        goto fail;
    }
    h.opaque = dev;
    crb_init(&dev->core, &dev->cfg, dev->cfg.regs_mem, dev->cfg.buffer_mem, &h);
    if ((err = crb_executor_start(&dev->exec, be, command_done, dev)) < 0) {
        if (be->ops->power_off)
            be->ops->power_off(be);
        goto fail;
    }
    /* Only a START write that waits anyway may run the command itself. */
    crb_executor_set_fast_path(&dev->exec,
                               dev->cfg.fast_path && dev->cfg.sync_bound_us);
    *out = dev;
    return 0;
fail:
    release(dev);
    return err;
}

void tpmcrb_device_free(struct tpmcrb_device *dev)
{
    if (!dev)
        return;
    if (tpmcrb_wait_idle(dev, FREE_TIMEOUT_MS) < 0)
        LOG_WARN("a command was still running at power-off");
    crb_executor_stop(&dev->exec);
    if (dev->be->ops->power_off && dev->be->ops->power_off(dev->be) < 0)
        LOG_ERROR("backend %s failed to power off cleanly", dev->be->ops->name);
    release(dev);
}

void tpmcrb_device_reset(struct tpmcrb_device *dev)
{
    bool gave_up = tpmcrb_wait_idle(dev, dev->reset_wait_ms) < 0;

    if (gave_up)
        LOG_WARN("reset while a command is still running: its response "
                 "will be dropped");
    if (dev->be->ops->platform_reset && dev->be->ops->platform_reset(dev->be) < 0)
        LOG_ERROR("backend %s failed its reset; the TPM stays in failure "
                  "until it recovers", dev->be->ops->name);
    pthread_mutex_lock(&dev->lock);
    if (gave_up && dev->core.busy && !dev->held) {
        dev->abandoned = true;
        crb_detach_command(&dev->core);
    }
    crb_reset(&dev->core);
    dev->held = false;
    pthread_mutex_unlock(&dev->lock);
}

void *tpmcrb_regs_mem(struct tpmcrb_device *dev) { return dev->cfg.regs_mem; }
void *tpmcrb_buffer_mem(struct tpmcrb_device *dev) { return dev->cfg.buffer_mem; }

const struct tpmcrb_config *tpmcrb_device_config(struct tpmcrb_device *dev)
{
    return &dev->cfg;
}

bool tpmcrb_device_tpm_resumed(struct tpmcrb_device *dev)
{
    return dev->resumed;
}

/* ------------------------------------------------------------ transports */

bool device_guest_write(struct tpmcrb_device *dev, uint64_t offset,
                        unsigned size, uint64_t value, uint32_t *seq)
{
    bool started, held;

    pthread_mutex_lock(&dev->lock);
    started = crb_write(&dev->core, offset, size, value);
    *seq = dev->last_seq;
    held = dev->held;
    pthread_mutex_unlock(&dev->lock);
    crb_executor_kick(&dev->exec);
    atomic_fetch_add(&dev->n_writes, 1);
    if (started)
        atomic_fetch_add(&dev->n_commands, 1);
    return started && !held;
}

void device_wait_started(struct tpmcrb_device *dev, uint32_t seq)
{
    if (dev->cfg.sync_bound_us &&
        crb_executor_wait(&dev->exec, seq, dev->cfg.sync_bound_us))
        atomic_fetch_add(&dev->n_sync, 1);
}

uint64_t device_guest_read(struct tpmcrb_device *dev, uint64_t offset,
                           unsigned size)
{
    /* The pages always hold what the guest must read. */
    return crb_read(&dev->core, offset, size);
}

bool device_take_guest_writes(struct tpmcrb_device *dev)
{
    struct crb_guest_writes n;

    pthread_mutex_lock(&dev->lock);
    crb_take_guest_writes(&dev->core, &n);
    pthread_mutex_unlock(&dev->lock);
    crb_executor_kick(&dev->exec);
    if (n.writes)
        atomic_fetch_add(&dev->n_writes, n.writes);
    if (n.commands)
        atomic_fetch_add(&dev->n_commands, n.commands);
    return n.writes > 0;
}

void device_set_inline(struct tpmcrb_device *dev, bool on)
{
    crb_executor_set_inline(&dev->exec, on);
}

void device_run_pending(struct tpmcrb_device *dev)
{
    crb_executor_run_pending(&dev->exec);
}

unsigned device_localities(const struct tpmcrb_device *dev)
{
    return dev->cfg.localities;
}

/* ------------------------------------------------------------ state */

bool tpmcrb_busy(struct tpmcrb_device *dev)
{
    bool busy;

    pthread_mutex_lock(&dev->lock);
    /* Held for a snapshot is not busy; held behind a command a reset gave
     * up on is (it runs when that one ends). */
    busy = dev->core.busy && (!dev->held || dev->abandoned);
    pthread_mutex_unlock(&dev->lock);
    return busy;
}

int tpmcrb_wait_idle(struct tpmcrb_device *dev, unsigned timeout_ms)
{
    uint64_t deadline = crb_now_ns() + (uint64_t)timeout_ms * 1000000ull;

    while (tpmcrb_busy(dev)) {
        if (crb_now_ns() >= deadline)
            return -ETIMEDOUT;
        crb_sleep_ns(100000);
    }
    return 0;
}

int tpmcrb_get_stats(struct tpmcrb_device *dev, struct tpmcrb_stats *st)
{
    uint32_t size = st->size;

    if (size >= sizeof(*st) && size <= CRB_ABI_MAX_STRUCT_SIZE) /* later fields */
        memset((unsigned char *)st + sizeof(*st), 0, size - sizeof(*st));
    if (CRB_ABI_CHECK(st, struct tpmcrb_stats) < 0)
        return -EINVAL;
    st->writes = atomic_load(&dev->n_writes);
    st->commands = atomic_load(&dev->n_commands);
    st->completed_sync = atomic_load(&dev->n_sync);
    st->errors = atomic_load(&dev->n_errors);
    st->ran_on_start_thread = crb_executor_quick_count(&dev->exec);
    st->cancelled_before_start = crb_executor_cancelled_before_start(&dev->exec);
    return 0;
}
