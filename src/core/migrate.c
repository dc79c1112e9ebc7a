/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pause/resume, snapshot save/load, device state export/import and
 * QEMU-layout import/export on a device. The backend may only be asked
 * for its state while it runs no command (its calls are serialised), so
 * everything here happens paused:
 * a START that arrives meanwhile is held in the core — a snapshot carries
 * it as the command in flight, and whichever device is resumed with it
 * runs it, once.
 */
#include "core/device.h"
#include "core/snapshot.h"
#include "util/abi.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* How long save/load/export/import wait for a running command on a device
 * the caller did not pause. TPM commands that generate keys take seconds. */
#define QUIESCE_TIMEOUT_MS 30000u

int tpmcrb_device_pause(struct tpmcrb_device *dev, unsigned timeout_ms)
{
    pthread_mutex_lock(&dev->lock);
    dev->paused = true;
    pthread_mutex_unlock(&dev->lock);
    if (tpmcrb_wait_idle(dev, timeout_ms) < 0) {
        LOG_WARN("pause: the backend is still running a command after %u ms",
                 timeout_ms);
        return -ETIMEDOUT;
    }
    return 0;
}

void tpmcrb_device_resume(struct tpmcrb_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->paused = false;
    if (dev->held) {
        /* Through the worker even in poll mode: the poll thread runs
         * inline commands only after guest activity. */
        dev->held = false;
        dev->last_seq = crb_executor_submit(&dev->exec, dev->core.busy_loc,
                                            crb_cmd(&dev->core), dev->core.cmd_len,
                                            true);
    }
    pthread_mutex_unlock(&dev->lock);
    crb_executor_kick(&dev->exec);
}

bool tpmcrb_device_paused(struct tpmcrb_device *dev)
{
    bool paused;

    pthread_mutex_lock(&dev->lock);
    paused = dev->paused;
    pthread_mutex_unlock(&dev->lock);
    return paused;
}

/* Run @fn under the lock with no command in the backend. A device that the
 * caller did not pause is paused for the call only. */
static int quiesced(struct tpmcrb_device *dev,
                    int (*fn)(struct tpmcrb_device *dev, void *arg), void *arg)
{
    bool was_paused = tpmcrb_device_paused(dev);
    int err;

    if (!was_paused && tpmcrb_device_pause(dev, QUIESCE_TIMEOUT_MS) < 0) {
        LOG_ERROR("the backend is still running a command after %u ms",
                  QUIESCE_TIMEOUT_MS);
        tpmcrb_device_resume(dev);
        return -EBUSY;
    }
    pthread_mutex_lock(&dev->lock);
    if (dev->core.busy && !dev->held) {
        LOG_ERROR("the backend is still running a command: wait for "
                  "tpmcrb_device_pause() to return 0");
        err = -EBUSY;
    } else {
        err = fn(dev, arg);
    }
    pthread_mutex_unlock(&dev->lock);
    if (!was_paused)
        tpmcrb_device_resume(dev);
    return err;
}

/* ------------------------------------------------------------ snapshots */

struct save_args {
    uint8_t **blob;
    size_t *len;
};

static int save_locked(struct tpmcrb_device *dev, void *arg)
{
    const struct tpmcrb_backend_ops *ops = dev->be->ops;
    struct save_args *a = arg;
    uint8_t *state = NULL;
    size_t state_len = 0;
    const char *name = "";
    int err;

    if (ops->save_state) {
        err = ops->save_state(dev->be, &state, &state_len);
        if (err < 0) {
            LOG_ERROR("snapshot: backend %s could not save its state: %s",
                      ops->name, strerror(-err));
            return err;
        }
        name = ops->name;
    } else {
        LOG_WARN("snapshot: backend %s cannot save its state; the snapshot "
                 "holds the device only", ops->name);
    }
    err = snap_encode(&dev->core, name, state, state_len, a->blob, a->len);
    free(state);
    return err;
}

int tpmcrb_snapshot_save(struct tpmcrb_device *dev, uint8_t **blob,
                         size_t *len)
{
    struct save_args a = { blob, len };

    if (!dev || !blob || !len)
        return -EINVAL;
    return quiesced(dev, save_locked, &a);
}

/* Everything that can be checked without touching the device. */
static int check_load(struct tpmcrb_device *dev, const struct snap_view *v)
{
    const struct tpmcrb_backend_ops *ops = dev->be->ops;
    int err;

    if ((err = snap_check_config(v, &dev->core)) < 0)
        return err;
    if (!v->be_name[0])
        return 0;
    if (strcmp(v->be_name, ops->name) != 0) {
        LOG_ERROR("snapshot: the backend state is for '%s', this device "
                  "runs '%s'", v->be_name, ops->name);
        return -EINVAL;
    }
    if (!ops->load_state) {
        LOG_ERROR("snapshot: backend %s cannot load a state", ops->name);
        return -EOPNOTSUPP;
    }
    return 0;
}

/* The backend goes first: it is the one step that can still fail, and a
 * failing backend keeps its previous state, so the device is untouched. */
static int load_locked(struct tpmcrb_device *dev, void *arg)
{
    const struct snap_view *v = arg;
    int err;

    if (v->be_name[0]) {
        err = dev->be->ops->load_state(dev->be, v->be_state, v->be_len);
        if (err < 0) {
            LOG_ERROR("snapshot: backend %s rejected the state (%s); the "
                      "device is unchanged", v->be_name, strerror(-err));
            return err;
        }
    }
    snap_apply(&dev->core, v);
    if (!v->be_name[0]) {
        /* The backend kept its own state: it knows tpmEstablished. */
        dev->core.established =
            dev->core.hooks.get_established(dev->core.hooks.opaque);
        /* Cleared by the guest; the backend hears of it at completion. */
        if (dev->core.reset_est_pending)
            dev->core.established = false;
        crb_publish(&dev->core);
    }
    dev->held = dev->core.busy; /* runs at resume */
    return 0;
}

int tpmcrb_snapshot_load(struct tpmcrb_device *dev, const uint8_t *blob,
                         size_t len)
{
    struct snap_view v;
    int err;

    if (!dev)
        return -EINVAL;
    if ((err = snap_parse(blob, len, &v)) < 0 ||
        (err = check_load(dev, &v)) < 0)
        return err;
    return quiesced(dev, load_locked, &v);
}

/* ------------------------------------------------------------ device state */

uint32_t tpmcrb_state_buffers_size(const struct tpmcrb_config *cfg)
{
    return (uint32_t)snap_buffers_len(cfg->layout, cfg->localities);
}

/* A buffers argument: NULL (none), or exactly the device's buffer bytes. */
static int check_buffers_len(const struct tpmcrb_device *dev,
                             const uint8_t *buffers, size_t len)
{
    size_t want = snap_buffers_len(dev->core.layout, dev->core.nloc);

    if (!buffers || len == want)
        return 0;
    LOG_ERROR("device state: %zu bytes of buffers, this device has %zu", len,
              want);
    return -EINVAL;
}

struct state_out {
    struct tpmcrb_device_state *st;
    uint8_t *buffers;
};

static int state_export_locked(struct tpmcrb_device *dev, void *arg)
{
    struct state_out *a = arg;

    state_export(&dev->core, a->st);
    if (a->buffers)
        snap_buffers_get(&dev->core, a->buffers);
    return 0;
}

int tpmcrb_device_state_export(struct tpmcrb_device *dev,
                               struct tpmcrb_device_state *st,
                               uint8_t *buffers, size_t buffers_len)
{
    struct state_out a = { st, buffers };

    if (!dev || !st)
        return -EINVAL;
    /* An output: bytes past this library's fields are the caller's. */
    if (st->size < sizeof(*st) || st->size > CRB_ABI_MAX_STRUCT_SIZE) {
        LOG_ERROR("struct tpmcrb_device_state: size %u is not the size of "
                  "any version of it", st->size);
        return -EINVAL;
    }
    if (check_buffers_len(dev, buffers, buffers_len) < 0)
        return -EINVAL;
    return quiesced(dev, state_export_locked, &a);
}

int tpmcrb_device_state_import(struct tpmcrb_device *dev,
                               const struct tpmcrb_device_state *st,
                               const uint8_t *buffers, size_t buffers_len)
{
    struct snap_view v;
    int err;

    if (!dev || !st)
        return -EINVAL;
    if (CRB_ABI_CHECK(st, struct tpmcrb_device_state) < 0 ||
        check_buffers_len(dev, buffers, buffers_len) < 0)
        return -EINVAL;
    /* v names no backend: load_locked leaves the backend as it is. */
    if ((err = state_parse(st, buffers, &v)) < 0 ||
        (err = check_load(dev, &v)) < 0)
        return err;
    return quiesced(dev, load_locked, &v);
}

/* ------------------------------------------------------------ QEMU layout */

struct qemu_args {
    uint32_t *regs;
    uint8_t *buffer;
};

static int export_locked(struct tpmcrb_device *dev, void *arg)
{
    struct qemu_args *a = arg;
    int err = qemu_check_export(&dev->core);

    if (err == 0)
        qemu_export(&dev->core, a->regs, a->buffer);
    return err;
}

int tpmcrb_qemu_state_export(struct tpmcrb_device *dev,
                             uint32_t regs[TPMCRB_QEMU_NUM_REGS],
                             uint8_t buffer[TPMCRB_COMPAT_BUFFER_SIZE])
{
    struct qemu_args a = { regs, buffer };

    if (!dev || !regs || !buffer)
        return -EINVAL;
    return quiesced(dev, export_locked, &a);
}

struct qemu_in {
    const uint32_t *regs;
    const uint8_t *buffer;
};

static int import_locked(struct tpmcrb_device *dev, void *arg)
{
    const struct qemu_in *a = arg;
    int err = qemu_check_import(&dev->core, a->regs);

    if (err < 0)
        return err;
    dev->held = false;
    qemu_import(&dev->core, a->regs, a->buffer);
    return 0;
}

int tpmcrb_qemu_state_import(struct tpmcrb_device *dev,
                             const uint32_t regs[TPMCRB_QEMU_NUM_REGS],
                             const uint8_t buffer[TPMCRB_COMPAT_BUFFER_SIZE])
{
    struct qemu_in a = { regs, buffer };

    if (!dev || !regs || !buffer)
        return -EINVAL;
    return quiesced(dev, import_locked, &a);
}
