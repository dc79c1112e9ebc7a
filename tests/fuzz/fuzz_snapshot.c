/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshot loading. The first byte picks the target device (layout and
 * localities), whether the blob's checksums are fixed up first (to get
 * past them to the content checks), whether the device is paused, and
 * whether the rest is a QEMU tpm-crb page, or a struct
 * tpmcrb_device_state (this build's layout, its size set here) followed
 * by the device's buffers, instead. A refused load must
 * leave the device exactly as it was; an accepted one must give a device
 * whose own snapshot loads back into itself, and that still runs
 * commands.
 */
#include "fuzz_common.h"
#include "counter_backend.h"
#include "core/regs.h"
#include "core/snapshot.h"
#include "util/tpm_cmd.h"

#include <stdlib.h>
#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE

struct target {
    struct counter_backend cb;
    struct tpmcrb_device *dev;
    uint8_t *baseline;
    size_t baseline_len;
};

static struct target targets[4];

static void guest_command(struct tpmcrb_device *dev, uint32_t tag)
{
    const struct tpmcrb_config *cfg = tpmcrb_device_config(dev);
    uint8_t *buf = cfg->layout == TPMCRB_LAYOUT_SPLIT ?
                   tpmcrb_buffer_mem(dev) :
                   (uint8_t *)tpmcrb_regs_mem(dev) + TPMCRB_COMPAT_BUFFER_OFFSET;

    tpmcrb_write(dev, CRB_LOC_CTRL, 4, LOC_CTRL_REQUEST);
    tpmcrb_write(dev, CRB_CTRL_REQ, 4, CTRL_REQ_CMD_READY);
    counter_command(buf, tag);
    tpmcrb_write(dev, CRB_CTRL_START, 4, 1);
    FUZZ_CHECK(tpmcrb_wait_idle(dev, 2000) == 0);
}

static void init_target(struct target *t, unsigned idx)
{
    struct tpmcrb_config cfg;

    counter_backend_init(&t->cb, true);
    tpmcrb_config_init(&cfg);
    cfg.layout = idx & 1 ? TPMCRB_LAYOUT_COMPAT : TPMCRB_LAYOUT_SPLIT;
    cfg.localities = idx & 2 ? 1 : TPMCRB_MAX_LOCALITIES;
    FUZZ_CHECK(tpmcrb_device_new(&cfg, &t->cb.be, &t->dev) == 0);
    guest_command(t->dev, 1);
    FUZZ_CHECK(tpmcrb_snapshot_save(t->dev, &t->baseline,
                                    &t->baseline_len) == 0);
}

static void unchanged(struct target *t)
{
    fuzz_check_resave(t->dev, t->baseline, t->baseline_len, true);
}

/* An accepted state saves into a blob that loads back into itself. */
static void reloads(struct target *t)
{
    uint8_t *a;
    size_t alen;

    FUZZ_CHECK(tpmcrb_snapshot_save(t->dev, &a, &alen) == 0);
    if (!fuzz_snapshot_stable(t->dev, a, alen)) {
        free(a);
        return; /* the command ran meanwhile: the state moved on */
    }
    FUZZ_CHECK(tpmcrb_snapshot_load(t->dev, a, alen) == 0);
    fuzz_check_resave(t->dev, a, alen, true);
    free(a);
}

static int load_blob(struct target *t, const uint8_t *data, size_t size,
                     bool fix)
{
    uint8_t *copy = malloc(size ? size : 1);
    int err;

    memcpy(copy, data, size);
    if (fix)
        snap_fix_checksums(copy, size);
    err = tpmcrb_snapshot_load(t->dev, copy, size);
    free(copy);
    return err;
}

static int load_qemu(struct target *t, const uint8_t *data, size_t size)
{
    uint8_t page[PAGE] = { 0 };
    uint32_t regs[TPMCRB_QEMU_NUM_REGS];

    memcpy(page, data, size < PAGE ? size : PAGE);
    for (unsigned i = 0; i < TPMCRB_QEMU_NUM_REGS; i++)
        regs[i] = page[4 * i] | (uint32_t)page[4 * i + 1] << 8 |
                  (uint32_t)page[4 * i + 2] << 16 |
                  (uint32_t)page[4 * i + 3] << 24;
    return tpmcrb_qemu_state_import(t->dev, regs,
                                    page + TPMCRB_COMPAT_BUFFER_OFFSET);
}

static int load_state(struct target *t, const uint8_t *data, size_t size)
{
    struct tpmcrb_device_state st;
    uint32_t blen = tpmcrb_state_buffers_size(tpmcrb_device_config(t->dev));
    uint8_t *buffers = calloc(1, blen);
    size_t n = size < sizeof(st) ? size : sizeof(st);
    int err;

    memset(&st, 0, sizeof(st));
    memcpy(&st, data, n);
    st.size = sizeof(st);
    if (size > n)
        memcpy(buffers, data + n, size - n < blen ? size - n : blen);
    err = tpmcrb_device_state_import(t->dev, &st, buffers, blen);
    free(buffers);
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct target *t;
    uint8_t flags;
    int err;

    fuzz_quiet_log();
    if (!ready) {
        for (unsigned i = 0; i < 4; i++)
            init_target(&targets[i], i);
        ready = true;
    }
    if (!size)
        return 0;
    flags = data[0];
    t = &targets[flags & 3];
    FUZZ_CHECK(tpmcrb_snapshot_load(t->dev, t->baseline, t->baseline_len) == 0);
    if (flags & 0x10)
        FUZZ_CHECK(tpmcrb_device_pause(t->dev, 2000) == 0);
    if (flags & 0x20)
        err = load_state(t, data + 1, size - 1);
    else if (flags & 0x08)
        err = load_qemu(t, data + 1, size - 1);
    else
        err = load_blob(t, data + 1, size - 1, flags & 0x04);
    if (err < 0)
        unchanged(t);
    else
        reloads(t);
    tpmcrb_device_resume(t->dev);
    FUZZ_CHECK(tpmcrb_wait_idle(t->dev, 2000) == 0);
    if (err == 0)
        guest_command(t->dev, 2);
    return 0;
}
