/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Register-write sequences on every transport. The first byte picks the
 * transport (ROM-device writes, full-trap writes and reads, or guest
 * stores into shared memory picked up by the poll thread), the layout, the
 * localities and the backend's behaviour; the rest is a list of guest
 * operations mixed with the embedder's (pause, snapshot, reset). After
 * every operation the published registers must be consistent, and in
 * poll mode no guest store may be lost.
 */
#include "fuzz_common.h"
#include "counter_backend.h"
#include "core/device.h"
#include "core/regs.h"
#include "core/snapshot.h"
#include "util/byteorder.h"
#include "util/clock.h"
#include "util/tpm_cmd.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define PAGE    TPMCRB_PAGE_SIZE
#define MAX_OPS 400u

enum transport { ROM, TRAP, POLL };

struct run {
    struct counter_backend cb;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller;
    enum transport t;
    uint64_t regs_size, window;
};

/* One device per configuration, kept across inputs (threads are costly
 * under the sanitizers) and reset to power-on state for each input. */
static struct run runs[24];

static bool open_run(struct run *r, unsigned key)
{
    static const enum transport transports[3] = { ROM, TRAP, POLL };

    counter_backend_init(&r->cb, true);
    r->t = transports[key % 3];
    tpmcrb_config_init(&r->cfg);
    r->cfg.layout = key & 4 ? TPMCRB_LAYOUT_COMPAT : TPMCRB_LAYOUT_SPLIT;
    r->cfg.localities = key & 8 ? 1 : TPMCRB_MAX_LOCALITIES;
    r->cfg.sync_bound_us = key & 16 ? 0 : 100000;
    if (tpmcrb_device_new(&r->cfg, &r->cb.be, &r->dev) < 0)
        return false;
    r->regs_size = tpmcrb_regs_size(&r->cfg);
    r->window = tpmcrb_window_size(&r->cfg);
    if (r->t == POLL && tpmcrb_poller_start(r->dev, &r->poller) < 0) {
        tpmcrb_device_free(r->dev);
        r->dev = NULL;
        return false;
    }
    return true;
}

/* Config byte: bits 0-1 transport (3 = ROM), 2 compat, 3 one locality,
 * 4 backend fails, 5 asynchronous completion, 6 slow backend. */
static struct run *setup(uint8_t config)
{
    unsigned transport = (config & 3) == 3 ? 0 : config & 3;
    unsigned key = transport | (config & 0x0C) | (config & 0x20 ? 16 : 0);
    struct run *r = &runs[(key & 3) + 3 * ((key >> 2) & 7)];

    if (!r->dev && !open_run(r, key))
        return NULL;
    /* The backend first: reset reads tpmEstablished from it. */
    atomic_store(&r->cb.count, 0);
    r->cb.established = true;
    r->cb.fail_exec = config & 0x10 ? -5 : 0;
    atomic_store(&r->cb.delay_us, config & 0x40 ? 20 : 0);
    tpmcrb_device_reset(r->dev);
    tpmcrb_device_resume(r->dev);
    return r;
}

/* ------------------------------------------------------------ the guest */

static uint8_t *mem_at(struct run *r, uint64_t off)
{
    if (off < r->regs_size)
        return (uint8_t *)tpmcrb_regs_mem(r->dev) + off;
    return (uint8_t *)tpmcrb_buffer_mem(r->dev) + (off - r->regs_size);
}

static bool watched(struct run *r, uint64_t off)
{
    return off < r->regs_size && off % PAGE < CRB_DATA_BUFFER;
}

/* Poll mode: the store must be applied before we go on. It is applied
 * when the dword holds what the device published again: the poll thread
 * gives every guest store back with an exchange, and publishing writes
 * only the image. The write counter is not enough: a store of several
 * bytes can be taken after its first byte, so the counter moves while the
 * later bytes still wait in memory (a snapshot would then carry them, and
 * they would be applied after it is loaded). */
static void wait_consumed(struct run *r, uint64_t off)
{
    struct tpmcrb_device *dev = r->dev;
    unsigned loc = (unsigned)(off / PAGE), idx = (unsigned)(off % PAGE) / 4;
    const uint32_t *word = (const uint32_t *)mem_at(r, off & ~3ull);
    uint64_t deadline = crb_now_ns() + 2000000000ull;

    do {
        bool applied;

        pthread_mutex_lock(&dev->lock);
        applied = le32_load_acquire(word) == dev->core.image[loc][idx];
        pthread_mutex_unlock(&dev->lock);
        if (applied)
            return;
        sched_yield();
    } while (crb_now_ns() < deadline);
    fuzz_fail("poll transport lost a guest write", __FILE__, __LINE__);
}

/* A store of @n bytes within one dword, as guest memory sees it. */
static void store_part(struct run *r, uint64_t off, unsigned n, uint64_t value)
{
    uint8_t *p = mem_at(r, off);

    for (unsigned i = 0; i < n; i++)
        __atomic_store_n(p + i, (uint8_t)(value >> (8 * i)), __ATOMIC_RELEASE);
    if (watched(r, off))
        wait_consumed(r, off);
}

static void guest_write(struct run *r, uint64_t off, unsigned size,
                        uint64_t value)
{
    if (r->t != POLL) {
        FUZZ_CHECK(tpmcrb_write(r->dev, off, size, value) == 0);
        return;
    }
    if (off >= r->window || size > r->window - off)
        return; /* the guest cannot store outside the window */
    while (size) {
        unsigned n = 4 - (unsigned)(off & 3);

        n = n < size ? n : size;
        store_part(r, off, n, value);
        value = n < 8 ? value >> (8 * n) : 0;
        off += n;
        size -= n;
    }
}

/* Writes to RAM are stores in every mode; to the register pages they
 * trap unless the pages are shared memory. */
static void guest_copy(struct run *r, uint64_t off, const uint8_t *src,
                       unsigned n)
{
    for (unsigned i = 0; i < n && off + i < r->window; i++) {
        if (off + i >= r->regs_size || r->t == POLL)
            *mem_at(r, off + i) = src[i];
        else
            tpmcrb_write(r->dev, off + i, 1, src[i]);
    }
}

/* ------------------------------------------------------------ operations */

static void op_raw_write(struct run *r, struct fuzz_in *in, uint8_t op)
{
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    uint64_t off = fuzz_u16(in) % (r->window + 16);

    guest_write(r, off, sizes[(op >> 4) & 3], fuzz_u64(in));
}

static void op_reg_write(struct run *r, struct fuzz_in *in)
{
    unsigned loc = fuzz_u8(in) % r->cfg.localities;
    uint32_t reg = (fuzz_u8(in) % CRB_NUM_DWORDS) * 4;

    guest_write(r, (uint64_t)loc * PAGE + reg, 4, fuzz_u32(in));
}

static void op_read(struct run *r, struct fuzz_in *in)
{
    uint64_t off = fuzz_u16(in) % (r->window + 16);
    unsigned size = fuzz_u8(in) % 10;
    uint64_t v = tpmcrb_read(r->dev, off, size);

    if (off >= r->window || size > 8 || size > r->window - off)
        FUZZ_CHECK(v == 0);
}

/* A TPM header where locality @loc's CMD registers point. */
static void op_header(struct run *r, struct fuzz_in *in)
{
    unsigned loc = fuzz_u8(in) % r->cfg.localities;
    const uint8_t *page = (uint8_t *)tpmcrb_regs_mem(r->dev) + loc * PAGE;
    uint64_t addr;
    uint8_t hdr[16];
    uint32_t lo, hi;

    memcpy(&lo, page + CRB_CMD_LADDR, 4);
    memcpy(&hi, page + CRB_CMD_HADDR, 4);
    addr = le32_to_host(lo) | (uint64_t)le32_to_host(hi) << 32;
    tpm_put_be16(hdr, fuzz_u8(in) & 1 ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS);
    tpm_put_be32(hdr + 2, fuzz_u32(in));
    tpm_put_be32(hdr + 6, fuzz_u32(in));
    tpm_put_be32(hdr + 10, fuzz_u32(in));
    tpm_put_be16(hdr + 14, fuzz_u16(in));
    if (addr >= r->cfg.base && addr - r->cfg.base < r->window)
        guest_copy(r, addr - r->cfg.base, hdr, sizeof(hdr));
}

/* Save, load into the same device, save again: a state loads back into
 * exactly itself. */
static void op_snapshot(struct run *r)
{
    uint8_t *a;
    size_t alen;
    bool stable;

    if (tpmcrb_snapshot_save(r->dev, &a, &alen) < 0)
        return; /* a command outlived the bound: allowed */
    stable = fuzz_snapshot_stable(r->dev, a, alen);
    FUZZ_CHECK(tpmcrb_snapshot_load(r->dev, a, alen) == 0);
    if (stable)
        fuzz_check_resave(r->dev, a, alen, false);
    free(a);
}

static void op_qemu(struct run *r)
{
    uint32_t regs[TPMCRB_QEMU_NUM_REGS], again[TPMCRB_QEMU_NUM_REGS];
    uint8_t buf[TPMCRB_COMPAT_BUFFER_SIZE], buf2[TPMCRB_COMPAT_BUFFER_SIZE];

    if (tpmcrb_qemu_state_export(r->dev, regs, buf) < 0)
        return;
    FUZZ_CHECK(tpmcrb_qemu_state_import(r->dev, regs, buf) == 0);
    if (tpmcrb_qemu_state_export(r->dev, again, buf2) == 0) {
        FUZZ_CHECK(!memcmp(regs, again, sizeof(regs)));
        FUZZ_CHECK(!memcmp(buf, buf2, sizeof(buf)));
    }
}

static void op_pause(struct run *r)
{
    if (tpmcrb_device_paused(r->dev))
        tpmcrb_device_resume(r->dev);
    else
        FUZZ_CHECK(tpmcrb_device_pause(r->dev, 2000) == 0);
}

/* ------------------------------------------------------------ invariants */

static void check(struct run *r)
{
    struct tpmcrb_device *dev = r->dev;
    struct crb_core *c = &dev->core;

    pthread_mutex_lock(&dev->lock);
    FUZZ_CHECK(c->active >= -1 && c->active < (int)c->nloc);
    for (unsigned loc = 0; loc < c->nloc; loc++) {
        const uint32_t *page = (uint32_t *)(c->regs + (size_t)loc * PAGE);
        const uint32_t *img = c->image[loc];
        bool running_here = c->busy && c->busy_loc == loc;

        /* In poll mode a guest store not yet consumed by the poll thread
         * stays in the page (publishing never overwrites it): the page may
         * differ from the image there until the next poll. */
        for (unsigned i = 0; i < CRB_NUM_DWORDS; i++)
            FUZZ_CHECK(le32_to_host(page[i]) == img[i] || r->t == POLL);
        FUZZ_CHECK(img[CRB_LOC_STATE / 4] == c->image[0][CRB_LOC_STATE / 4]);
        FUZZ_CHECK(img[CRB_LOC_CTRL / 4] == 0 && img[CRB_CTRL_REQ / 4] == 0);
        FUZZ_CHECK(img[CRB_CTRL_START / 4] == (running_here ? 1u : 0u));
        FUZZ_CHECK(img[CRB_CTRL_CANCEL / 4] <= 1);
    }
    pthread_mutex_unlock(&dev->lock);
}

static void run_op(struct run *r, struct fuzz_in *in)
{
    uint8_t op = fuzz_u8(in);

    switch (op % 10) {
    case 0: case 1: op_raw_write(r, in, op); break;
    case 2: case 3: op_reg_write(r, in); break;
    case 4: op_read(r, in); break;
    case 5: op_header(r, in); break;
    case 6: FUZZ_CHECK(tpmcrb_wait_idle(r->dev, 2000) == 0); break;
    case 7: op_pause(r); break;
    case 8: (op & 0x80) ? op_qemu(r) : op_snapshot(r); break;
    case 9: tpmcrb_device_reset(r->dev); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size, 0 };
    struct run *r;

    fuzz_quiet_log();
    if (!size || !(r = setup(fuzz_u8(&in))))
        return 0;
    for (unsigned n = 0; n < MAX_OPS && fuzz_left(&in); n++) {
        run_op(r, &in);
        if (!tpmcrb_busy(r->dev))
            check(r);
    }
    tpmcrb_device_resume(r->dev);
    FUZZ_CHECK(tpmcrb_wait_idle(r->dev, 2000) == 0);
    check(r);
    return 0;
}
