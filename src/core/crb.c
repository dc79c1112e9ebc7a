/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CRB register rules (PC Client PTP, CRB interface) for five localities,
 * written against what Linux tpm_crb, EDK2 and SeaBIOS actually do
 * (docs/design.md, "The register interface"). What each register is comes
 * from the register table (core/reg_table.c).
 */
#include "core/crb.h"
#include "util/byteorder.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE
#define FOUR_GIB 0x100000000ull

/* ------------------------------------------------------------ geometry */

static uint64_t split_buffer_addr(const struct crb_core *c)
{
    return c->base + (uint64_t)c->nloc * PAGE;
}

static uint64_t inpage_buffer_addr(const struct crb_core *c, unsigned loc)
{
    return c->base + (uint64_t)loc * PAGE + TPMCRB_COMPAT_BUFFER_OFFSET;
}

uint64_t crb_window_size(const struct crb_core *c)
{
    uint64_t regs = (uint64_t)c->nloc * PAGE;

    return c->layout == TPMCRB_LAYOUT_SPLIT ? regs + PAGE : regs;
}

const char *crb_geometry_problem(uint64_t base, enum tpmcrb_layout layout,
                                 unsigned nloc, bool below_4gib)
{
    uint64_t window;

    if (layout != TPMCRB_LAYOUT_SPLIT && layout != TPMCRB_LAYOUT_COMPAT)
        return "unknown buffer layout";
    if (nloc != 1 && nloc != TPMCRB_MAX_LOCALITIES)
        return "localities must be 1 or 5";
    if (base % PAGE)
        return "the base address is not a usable page (not 4 KiB aligned)";
    window = (uint64_t)nloc * PAGE + (layout == TPMCRB_LAYOUT_SPLIT ? PAGE : 0);
    if (below_4gib && (window > FOUR_GIB || base > FOUR_GIB - window))
        return "the window does not end below 4 GiB";
    if (base > UINT64_MAX - window)
        return "the base address is not a usable page (the window wraps the "
               "address space)";
    return NULL;
}

/* The buffer a locality advertises after reset. */
static uint64_t advertised_addr(const struct crb_core *c, unsigned loc)
{
    return c->layout == TPMCRB_LAYOUT_SPLIT ? split_buffer_addr(c)
                                            : inpage_buffer_addr(c, loc);
}

static uint32_t advertised_size(const struct crb_core *c)
{
    return c->layout == TPMCRB_LAYOUT_SPLIT ? TPMCRB_SPLIT_BUFFER_SIZE
                                            : TPMCRB_COMPAT_BUFFER_SIZE;
}

/* Fields of @l to their reset values: all of them, or with @buffers_only
 * the buffer addresses and sizes (a buffer chosen by firmware lasts for
 * one command). */
static void reset_fields(const struct crb_core *c, unsigned loc,
                         struct crb_locality *l, bool buffers_only)
{
    for (unsigned i = 0; i < crb_nfields; i++) {
        const struct crb_field *f = &crb_fields[i];

        switch (f->reset) {
        case CRB_RESET_ZERO:
            if (!buffers_only)
                crb_field_set(l, f, 0);
            break;
        case CRB_RESET_BUFFER_SIZE:
            crb_field_set(l, f, advertised_size(c));
            break;
        case CRB_RESET_BUFFER_ADDR:
            crb_field_set(l, f, advertised_addr(c, loc));
            break;
        }
    }
}

/*
 * Firmware may point CMD/RSP at a buffer of its choice (EDK2 always names
 * the in-page buffer at base+0x80). An address naming one of the device's
 * buffers is honoured; anything else falls back to the default, so the
 * guest can never make the device touch memory it does not own.
 */
static uint8_t *resolve_buffer(const struct crb_core *c, unsigned loc,
                               uint64_t addr, uint32_t size, uint32_t *cap)
{
    uint32_t limit;
    uint8_t *p;

    if (c->buffer && addr == split_buffer_addr(c)) {
        p = c->buffer;
        limit = TPMCRB_SPLIT_BUFFER_SIZE;
    } else if (addr >= c->base + TPMCRB_COMPAT_BUFFER_OFFSET &&
               (addr - c->base) % PAGE == TPMCRB_COMPAT_BUFFER_OFFSET &&
               (addr - c->base) / PAGE < c->nloc) {
        p = c->regs + (addr - c->base);
        limit = TPMCRB_COMPAT_BUFFER_SIZE;
    } else {
        LOG_DEBUG("buffer address %#llx names no device buffer; using the "
                  "default", (unsigned long long)addr);
        return resolve_buffer(c, loc, advertised_addr(c, loc),
                              advertised_size(c), cap);
    }
    *cap = size < limit ? size : limit;
    return p;
}

/* ------------------------------------------------------------ publishing */

static void mark_dirty(const struct crb_core *c, uint64_t off, uint64_t len)
{
    if (c->hooks.dirty)
        c->hooks.dirty(c->hooks.opaque, off, len);
}

/* Window offset of a pointer into one of the device's buffers. */
static uint64_t window_offset(const struct crb_core *c, const uint8_t *p)
{
    if (c->buffer && p >= c->buffer && p < c->buffer + TPMCRB_SPLIT_BUFFER_SIZE)
        return (uint64_t)c->nloc * PAGE + (uint64_t)(p - c->buffer);
    return (uint64_t)(p - c->regs);
}

static uint32_t loc_state(const struct crb_core *c)
{
    uint32_t v = LOC_STATE_REG_VALID;

    if (c->established)
        v |= LOC_STATE_ESTABLISHED;
    if (c->active >= 0)
        v |= LOC_STATE_ASSIGNED | ((uint32_t)c->active << LOC_STATE_ACTIVE_SHIFT);
    return v;
}

static uint32_t intf_id_lo(const struct crb_core *c)
{
    uint32_t v = INTF_TYPE_CRB | INTF_VERSION_CRB | INTF_CAP_XFER_64 |
                 INTF_CAP_CRB | c->intf_sel;

    if (c->nloc > 1)
        v |= INTF_CAP_LOCALITY;
    return v;
}

/* One row of CRB_LOCALITY_FIELDS into the register values @v. Expanded
 * per row with constants: publishing is on every register write. */
static inline void publish_field(uint32_t *v, uint32_t reg,
                                 enum crb_field_type type, uint32_t mask,
                                 uint64_t x)
{
    if (reg == CRB_NO_REG)
        return;
    if (type == CRB_FIELD_BOOL) {
        if (x)
            v[reg / 4] |= mask;
        return;
    }
    v[reg / 4] = (uint32_t)x;
    if (type == CRB_FIELD_U64)
        v[reg / 4 + 1] = (uint32_t)(x >> 32);
}

/* What the guest reads in page @loc: everything but the globals in @g. */
struct crb_globals {
    uint32_t loc_state, intf_id_lo, ctrl_sts;
};

static void fill_page(const struct crb_core *c, unsigned loc,
                      const struct crb_globals *g, uint32_t v[CRB_NUM_DWORDS])
{
    const struct crb_locality *l = &c->loc[loc];

    /* Write-only, self-clearing and reserved registers read 0. */
    memset(v, 0, CRB_NUM_DWORDS * sizeof(v[0]));
    /* Derived from the core's state. */
    v[CRB_LOC_STATE / 4] = g->loc_state;
    v[CRB_LOC_STS / 4] = (int)loc == c->active ? LOC_STS_GRANTED : 0;
    v[CRB_INTF_ID_LO / 4] = g->intf_id_lo;
    v[CRB_INTF_ID_HI / 4] = INTF_VID | (INTF_DID << 16);
    v[CRB_CTRL_STS / 4] = g->ctrl_sts;
    /* The locality's own state, where the register table places it. */
#define PUBLISH_FIELD(m, t, r, mask, ...) \
    publish_field(v, r, CRB_FIELD_##t, mask, l->m);
    CRB_LOCALITY_FIELDS(PUBLISH_FIELD)
#undef PUBLISH_FIELD
}

static void update_irq(struct crb_core *c)
{
    bool level = false;

    for (unsigned i = 0; i < c->nloc; i++) {
        const struct crb_locality *l = &c->loc[i];

        if ((l->int_enable & INT_GLOBAL_ENABLE) &&
            (l->int_sts & l->int_enable & INT_ALL))
            level = true;
    }
    if (level != c->irq_level) {
        c->irq_level = level;
        if (c->hooks.irq)
            c->hooks.irq(c->hooks.opaque, level);
    }
}

#define PUBLISH_BLOCK 8u /* registers compared at once */
_Static_assert(CRB_NUM_DWORDS % PUBLISH_BLOCK == 0, "whole blocks");

/* Store register dword @i of @page as @v and remember it in @img. The
 * page is guest memory: little-endian on every host; @img is host order.
 *
 * Release: a reader that sees the new value with an acquire load (a
 * driver polling START for 0, or a guest on a weakly ordered host) also
 * sees everything the device wrote before it, the response in the buffer
 * above all. The ordering rides on the status word itself, which is what
 * the reader synchronises with. */
static void store_reg(uint32_t *page, uint32_t *img, unsigned i, uint32_t v,
                      bool force)
{
    uint32_t old = img[i];

    img[i] = v;
    if (force)
        le32_store_release(&page[i], v);
    else /* a guest store not yet seen by crb_take_guest_writes() wins: it
            differs from the new image and is applied next */
        le32_replace_release(&page[i], old, v);
}

static void publish(struct crb_core *c, bool force)
{
    const struct crb_globals g = {
        .loc_state = loc_state(c),
        .intf_id_lo = intf_id_lo(c),
        .ctrl_sts = (c->fatal ? CTRL_STS_FATAL : 0) | (c->idle ? CTRL_STS_IDLE : 0),
    };
    const uint32_t gv[3] = { g.loc_state, g.intf_id_lo, g.ctrl_sts };
    static const unsigned global_regs[3] = {
        CRB_LOC_STATE / 4, CRB_INTF_ID_LO / 4, CRB_CTRL_STS / 4 };
    bool same_globals = !force &&
                        !memcmp(gv, c->published_globals, sizeof(gv));
    uint32_t v[CRB_NUM_DWORDS];

    for (unsigned loc = 0; loc < c->nloc; loc++) {
        uint32_t *page = (uint32_t *)(c->regs + (size_t)loc * PAGE);
        uint32_t *img = c->image[loc];
        int first = -1, last = -1;

        /* A page is built from the globals, whether it is the active
         * locality's, and its locality's state. Same state and activity:
         * at most the three global registers differ (none with the same
         * globals). Most writes change one locality or only globals. */
        if (!force &&
            ((int)loc == c->active) == ((int)loc == c->published_active) &&
            !memcmp(&c->loc[loc], &c->published_loc[loc], sizeof(c->loc[loc]))) {
            if (same_globals)
                continue;
            for (unsigned j = 0; j < 3; j++) {
                unsigned i = global_regs[j];

                if (img[i] == gv[j])
                    continue;
                store_reg(page, img, i, gv[j], false);
                first = first < 0 || (int)i < first ? (int)i : first;
                last = (int)i > last ? (int)i : last;
            }
            if (first >= 0)
                mark_dirty(c, (uint64_t)loc * PAGE + first * 4u,
                           (uint64_t)(last - first + 1) * 4);
            continue;
        }
        memcpy(&c->published_loc[loc], &c->loc[loc], sizeof(c->loc[loc]));
        fill_page(c, loc, &g, v);
        for (unsigned b = 0; b < CRB_NUM_DWORDS; b += PUBLISH_BLOCK) {
            /* Most writes change a few registers of a page or none: an
             * unchanged block costs one memcmp. */
            if (!force && !memcmp(&v[b], &img[b], PUBLISH_BLOCK * sizeof(v[0])))
                continue;
            for (unsigned i = b; i < b + PUBLISH_BLOCK; i++) {
                if (v[i] == img[i] && !force)
                    continue;
                store_reg(page, img, i, v[i], force);
                if (first < 0)
                    first = (int)i;
                last = (int)i;
            }
        }
        if (first >= 0)
            mark_dirty(c, (uint64_t)loc * PAGE + first * 4u,
                       (uint64_t)(last - first + 1) * 4);
    }
    memcpy(c->published_globals, gv, sizeof(gv));
    c->published_active = c->active;
    update_irq(c);
}

void crb_publish(struct crb_core *c)
{
    publish(c, false);
}

/* Store every register, whatever image[] says (after reset or restore). */
static void publish_all(struct crb_core *c)
{
    publish(c, true);
}

void crb_restored(struct crb_core *c)
{
    if (c->busy) {
        const struct crb_locality *l = &c->loc[c->busy_loc];

        c->rsp_buf = resolve_buffer(c, c->busy_loc, l->rsp_addr, l->rsp_size,
                                    &c->rsp_cap);
    }
    publish_all(c);
}

/* ------------------------------------------------------------ localities */

static void raise_int(struct crb_core *c, unsigned loc, uint32_t bit)
{
    c->loc[loc].int_sts |= bit;
}

static void grant(struct crb_core *c, unsigned loc)
{
    c->active = (int)loc;
    c->loc[loc].requesting = false;
    c->loc[loc].seized = false;
    raise_int(c, loc, INT_LOC_CHANGE);
    LOG_DEBUG("locality %u granted", loc);
}

/* The highest locality waiting gets access when the TPM becomes free. */
static void grant_pending(struct crb_core *c)
{
    for (int i = (int)c->nloc - 1; i >= 0; i--)
        if (c->loc[i].requesting) {
            grant(c, (unsigned)i);
            return;
        }
}

static void loc_ctrl(struct crb_core *c, unsigned loc, uint32_t v)
{
    if (v & LOC_CTRL_REQUEST) {
        if (c->active < 0)
            grant(c, loc);
        else if (c->active != (int)loc)
            c->loc[loc].requesting = true;
    }
    if (v & LOC_CTRL_RELINQUISH) {
        c->loc[loc].requesting = false;
        if (c->active == (int)loc) {
            c->active = -1;
            grant_pending(c);
        }
    }
    if ((v & LOC_CTRL_SEIZE) && (int)loc > c->active) {
        if (c->active >= 0) {
            c->loc[c->active].seized = true;
            LOG_DEBUG("locality %u seized from %d", loc, c->active);
        }
        grant(c, loc);
    }
    if (v & LOC_CTRL_RESET_EST) {
        if (loc < 3) {
            LOG_DEBUG("resetEstablishmentBit from locality %u ignored", loc);
        } else {
            /* The guest reads the device's copy at once. A running
             * command owns the backend: the write must not wait for it,
             * so the backend is told at completion. */
            c->established = false;
            if (c->busy)
                c->reset_est_pending = loc + 1;
            else if (c->hooks.reset_established)
                c->hooks.reset_established(c->hooks.opaque, loc);
            raise_int(c, loc, INT_EST_CLEAR);
        }
    }
}

/* ------------------------------------------------------------ commands */

static void finish_with_error(struct crb_core *c, unsigned loc, uint32_t rc)
{
    uint32_t cap;
    uint8_t *rsp = resolve_buffer(c, loc, c->loc[loc].rsp_addr,
                                  c->loc[loc].rsp_size, &cap);

    if (cap >= TPM_HEADER_SIZE) {
        tpm_error_response(rsp, rc);
        mark_dirty(c, window_offset(c, rsp), TPM_HEADER_SIZE);
    }
    raise_int(c, loc, INT_START);
}

static bool start(struct crb_core *c, unsigned loc)
{
    struct crb_locality *l = &c->loc[loc];
    uint32_t cap, len;
    const uint8_t *cmd;

    enum crb_intf_state state = crb_intf_state(c);

    if ((int)loc != c->active || state == CRB_STATE_EXECUTION ||
        state == CRB_STATE_FATAL) {
        LOG_DEBUG("START from locality %u ignored (active %d, %s)", loc,
                  c->active, crb_intf_state_name(state));
        return false;
    }
    cmd = resolve_buffer(c, loc, l->cmd_addr, l->cmd_size, &cap);
    len = cap >= TPM_HEADER_SIZE ? tpm_hdr_size(cmd) : 0;
    if (len < TPM_HEADER_SIZE || len > cap) {
        LOG_WARN("command size %u outside 10..%u: TPM_RC_COMMAND_SIZE", len, cap);
        finish_with_error(c, loc, TPM_RC_COMMAND_SIZE);
        return false;
    }
    /* A private copy: the guest may keep writing the buffer meanwhile. It
     * may also have rewritten the size since it was checked: what runs is
     * the copy, so the copy's header must say what was checked. */
    memcpy(crb_cmd(c), cmd, len);
    if (tpm_hdr_size(crb_cmd(c)) != len) {
        LOG_WARN("command size changed from %u to %u while START copied it: "
                 "TPM_RC_COMMAND_SIZE", len, tpm_hdr_size(crb_cmd(c)));
        finish_with_error(c, loc, TPM_RC_COMMAND_SIZE);
        return false;
    }
    c->cmd_len = len;
    c->rsp_buf = resolve_buffer(c, loc, l->rsp_addr, l->rsp_size, &c->rsp_cap);
    c->busy = true;
    c->busy_loc = loc;
    c->idle = false;
    l->start = 1;
    if (crb_log_enabled(TPMCRB_LOG_TRACE)) {
        const char *name = tpm_command_name(tpm_hdr_code(cmd));

        LOG_TRACE("command %s (%#x) len %u locality %u",
                  name ? name : "?", tpm_hdr_code(cmd), len, loc);
    }
    c->hooks.submit(c->hooks.opaque, loc, len);
    return true;
}

void crb_complete(struct crb_core *c, const uint8_t *rsp, uint32_t len,
                  int err)
{
    unsigned loc = c->busy_loc;

    if (!c->busy)
        return;
    if (err < 0) {
        LOG_ERROR("backend failed (%s): TPM fatal error status set",
                  strerror(-err));
        c->fatal = true;
        if (c->rsp_cap >= TPM_HEADER_SIZE)
            tpm_error_response(c->rsp_buf, TPM_RC_FAILURE);
    } else if (len < TPM_HEADER_SIZE || len > c->rsp_cap) {
        LOG_ERROR("response of %u bytes does not fit the %u-byte buffer",
                  len, c->rsp_cap);
        if (c->rsp_cap >= TPM_HEADER_SIZE)
            tpm_error_response(c->rsp_buf, TPM_RC_FAILURE);
    } else {
        memcpy(c->rsp_buf, rsp, len);
        if (crb_log_enabled(TPMCRB_LOG_TRACE)) {
            char rc[CRB_RC_TEXT_MAX];

            LOG_TRACE("response rc %s len %u",
                      crb_rc_text(tpm_hdr_code(rsp), rc, sizeof(rc)), len);
        }
    }
    mark_dirty(c, window_offset(c, c->rsp_buf),
               len >= TPM_HEADER_SIZE && len <= c->rsp_cap ? len : TPM_HEADER_SIZE);
    c->busy = false;
    c->loc[loc].start = 0;
    /* A buffer chosen by firmware lasts for one command; a later OS finds
     * the advertised one again. */
    reset_fields(c, loc, &c->loc[loc], true);
    raise_int(c, loc, INT_START);
    crb_publish(c);
}

static void ctrl_req(struct crb_core *c, unsigned loc, uint32_t v)
{
    if ((int)loc != c->active) {
        LOG_DEBUG("CTRL_REQ from inactive locality %u ignored", loc);
        return;
    }
    if ((v & CTRL_REQ_CMD_READY) && (v & CTRL_REQ_GO_IDLE)) {
        LOG_DEBUG("CTRL_REQ with both cmdReady and goIdle ignored");
    } else if (v & CTRL_REQ_CMD_READY) {
        c->idle = false;
        raise_int(c, loc, INT_CMD_READY);
    } else if (v & CTRL_REQ_GO_IDLE) {
        if (crb_intf_state(c) == CRB_STATE_EXECUTION)
            LOG_DEBUG("goIdle while a command runs ignored");
        else
            c->idle = true;
    }
}

static void ctrl_cancel(struct crb_core *c, unsigned loc, uint32_t v)
{
    if ((int)loc != c->active)
        return;
    c->loc[loc].cancel = v & 1;
    if ((v & 1) && c->busy && c->hooks.cancel) {
        LOG_DEBUG("cancel requested");
        c->hooks.cancel(c->hooks.opaque);
    }
}

/* ------------------------------------------------------------ writes */

/*
 * SeaBIOS writes INTF_ID as absolute values (selector CRB, then the lock
 * alone), so only the writable bits are taken from a write: a selector
 * other than CRB, the one interface this device has, is ignored, and the
 * lock sticks until reset.
 */
static void intf_select(struct crb_core *c, uint32_t v)
{
    if (c->intf_sel & INTF_SEL_LOCK)
        return;
    if ((v & INTF_SELECTOR_MASK) != INTF_SELECTOR_CRB)
        LOG_DEBUG("interface selector %u ignored: CRB only",
                  (v & INTF_SELECTOR_MASK) >> INTF_SELECTOR_SHIFT);
    c->intf_sel = INTF_SELECTOR_CRB | (v & INTF_SEL_LOCK);
}

static uint32_t merge(uint32_t old, uint32_t value, uint32_t mask)
{
    return (old & ~mask) | (value & mask);
}

/* A read-write register that holds a field of the locality: the guest's
 * value within the bits the field may hold. False when @reg is no such
 * register. */
static bool write_field(struct crb_locality *l, uint32_t reg, uint32_t v)
{
    for (unsigned i = 0; i < crb_nfields; i++) {
        const struct crb_field *f = &crb_fields[i];
        uint64_t old;

        if (f->reg == CRB_NO_REG || f->type == CRB_FIELD_BOOL)
            continue;
        old = crb_field_get(l, f);
        if (reg == f->reg && f->type == CRB_FIELD_U32)
            crb_field_set(l, f, v & f->mask);
        else if (reg == f->reg && f->type == CRB_FIELD_U64)
            crb_field_set(l, f, (old & ~0xFFFFFFFFull) | v);
        else if (reg == f->reg + 4 && f->type == CRB_FIELD_U64)
            crb_field_set(l, f, (old & 0xFFFFFFFFull) | (uint64_t)v << 32);
        else
            continue;
        return true;
    }
    return false;
}

bool crb_write_reg(struct crb_core *c, unsigned loc, uint32_t reg,
                   uint32_t value, uint32_t mask)
{
    struct crb_locality *l = &c->loc[loc];
    uint32_t v = merge(c->image[loc][reg / 4], value, mask);
    bool started = false;

    /* Registers that are requests; the rest of the writable ones hold
     * the guest's value (write_field). */
    switch (reg) {
    case CRB_LOC_CTRL:    loc_ctrl(c, loc, value & mask); break;
    case CRB_INTF_ID_LO:  intf_select(c, v); break;
    case CRB_CTRL_REQ:    ctrl_req(c, loc, value & mask); break;
    case CRB_CTRL_CANCEL: ctrl_cancel(c, loc, v); break;
    case CRB_CTRL_START:
        if (v & 1)
            started = start(c, loc);
        break;
    case CRB_INT_STS:     l->int_sts &= ~(value & mask); break;
    default:
        if (!write_field(l, reg, v))
            LOG_DEBUG("write to read-only %s (locality %u) ignored",
                      crb_reg_name(reg), loc);
        break;
    }
    crb_publish(c);
    return started;
}

/* Bytes of the in-page data buffer, or of a trapped buffer page. */
static void write_memory(uint8_t *p, unsigned size, uint64_t value)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(value >> (8 * i));
}

/* One access within one aligned dword of the window. */
static bool write_dword_part(struct crb_core *c, uint64_t off, unsigned n,
                             uint64_t value)
{
    uint64_t regs_size = (uint64_t)c->nloc * PAGE;
    unsigned loc = (unsigned)(off / PAGE);
    uint32_t poff = (uint32_t)(off % PAGE);
    unsigned shift = (unsigned)(off & 3) * 8;
    uint32_t mask = (n == 4 ? 0xFFFFFFFFu : ((1u << (8 * n)) - 1)) << shift;

    if (off >= regs_size || poff >= CRB_DATA_BUFFER) {
        write_memory(off >= regs_size ? c->buffer + (off - regs_size)
                                      : c->regs + off, n, value);
        mark_dirty(c, off, n);
        return false;
    }
    LOG_TRACE("write loc %u %s+%u size %u value %#llx", loc,
              crb_reg_name(poff & ~3u), poff & 3u, n,
              (unsigned long long)value);
    return crb_write_reg(c, loc, poff & ~3u, (uint32_t)(value << shift), mask);
}

bool crb_write(struct crb_core *c, uint64_t offset, unsigned size,
               uint64_t value)
{
    uint64_t end = crb_window_size(c);
    bool started = false;

    if (offset >= end || size > end - offset) {
        LOG_DEBUG("write at %#llx size %u outside the %#llx-byte window ignored",
                  (unsigned long long)offset, size, (unsigned long long)end);
        return false;
    }
    /* Split at dword boundaries: unaligned and 8-byte accesses become
     * up to three register accesses with byte enables. */
    while (size) {
        unsigned n = 4 - (unsigned)(offset & 3);

        if (n > size)
            n = size;
        started |= write_dword_part(c, offset, n, value);
        value = n < 8 ? value >> (8 * n) : 0;
        offset += n;
        size -= n;
    }
    return started;
}

uint64_t crb_read(const struct crb_core *c, uint64_t offset, unsigned size)
{
    uint64_t regs_size = (uint64_t)c->nloc * PAGE;
    uint64_t end = crb_window_size(c);
    uint64_t v = 0;

    if (offset >= end || size > end - offset || size > 8)
        return 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;
        const uint8_t *p = o < regs_size ? c->regs + o
                                         : c->buffer + (o - regs_size);

        /* Acquire, the reader's half of store_reg's rule: a trapped read
         * of START that sees 0 orders the reads of the response after it. */
        v |= (uint64_t)__atomic_load_n(p, __ATOMIC_ACQUIRE) << (8 * i);
    }
    return v;
}

/* ------------------------------------------------------------ shared memory */

/* Returns true when the guest wrote register @idx of @loc; applies it.
 * Applied through the rules first and consumed with an exchange after: the
 * guest never sees a request register clear before the state it asked for
 * is published, and a store that lands between the two is returned by the
 * exchange and applied too, never lost. */
static bool take_guest_write(struct crb_core *c, unsigned loc, unsigned idx,
                             struct crb_guest_writes *n)
{
    uint32_t *word = (uint32_t *)(c->regs + (size_t)loc * PAGE) + idx;
    uint32_t seen = le32_load_acquire(word);

    if (seen == c->image[loc][idx])
        return false;
    while (seen != c->image[loc][idx]) {
        uint32_t again;

        n->writes++;
        if (crb_write_reg(c, loc, idx * 4, seen, 0xFFFFFFFFu))
            n->commands++;
        again = le32_exchange(word, c->image[loc][idx]);
        if (again == seen)
            break;
        seen = again; /* written again meanwhile: apply that too */
    }
    return true;
}

void crb_take_guest_writes(struct crb_core *c, struct crb_guest_writes *n)
{
    n->writes = n->commands = 0;
    for (unsigned loc = 0; loc < c->nloc; loc++)
        for (unsigned i = 0; i < CRB_NUM_DWORDS; i++)
            take_guest_write(c, loc, i, n);
}

/* ------------------------------------------------------------ lifecycle */

/* Data buffers start zeroed after a reset, as after power-on: SeaBIOS
 * probes for TIS at 0xF00 of the page and must not find an old response. */
static void clear_buffers(struct crb_core *c)
{
    for (unsigned loc = 0; loc < c->nloc; loc++)
        memset(c->regs + (size_t)loc * PAGE + CRB_DATA_BUFFER, 0,
               PAGE - CRB_DATA_BUFFER);
    if (c->buffer)
        memset(c->buffer, 0, TPMCRB_SPLIT_BUFFER_SIZE);
    mark_dirty(c, 0, crb_window_size(c));
}

void crb_reset(struct crb_core *c)
{
    c->active = -1;
    c->idle = true;
    c->fatal = false;
    c->busy = false;
    c->reset_est_pending = 0;
    c->intf_sel = INTF_SELECTOR_CRB;
    c->established = c->hooks.get_established ?
                     c->hooks.get_established(c->hooks.opaque) : true;
    for (unsigned i = 0; i < TPMCRB_MAX_LOCALITIES; i++) {
        memset(&c->loc[i], 0, sizeof(c->loc[i]));
        reset_fields(c, i, &c->loc[i], false);
    }
    if (c->locality0_at_reset)
        grant(c, 0);
    clear_buffers(c);
    publish_all(c);
}

void crb_init(struct crb_core *c, const struct tpmcrb_config *cfg,
              uint8_t *regs, uint8_t *buffer, const struct crb_hooks *hooks)
{
    memset(c, 0, sizeof(*c));
    c->base = cfg->base;
    c->layout = cfg->layout;
    c->nloc = cfg->localities;
    c->locality0_at_reset = cfg->locality0_at_reset;
    c->regs = regs;
    c->buffer = cfg->layout == TPMCRB_LAYOUT_SPLIT ? buffer : NULL;
    c->hooks = *hooks;
    crb_reset(c);
}

enum crb_intf_state crb_intf_state(const struct crb_core *c)
{
    if (c->busy)
        return CRB_STATE_EXECUTION;
    if (c->fatal)
        return CRB_STATE_FATAL;
    return c->idle ? CRB_STATE_IDLE : CRB_STATE_READY;
}

const char *crb_intf_state_name(enum crb_intf_state s)
{
    switch (s) {
    case CRB_STATE_IDLE:      return "idle";
    case CRB_STATE_READY:     return "ready";
    case CRB_STATE_EXECUTION: return "execution";
    case CRB_STATE_FATAL:     return "fatal";
    }
    return "?";
}
