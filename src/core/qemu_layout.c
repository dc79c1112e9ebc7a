/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QEMU's tpm-crb migration state (core/snapshot.h) to and from a core.
 * QEMU's device is one page: locality 0's registers with the command
 * buffer in the page at 0x80 — tpmcrb's compat layout. A guest driver
 * reads the buffer address once at probe, so only that layout can take
 * over a running QEMU guest or hand one back.
 */
#include "core/snapshot.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

#define REG(off) ((off) / 4u)

static int need_compat(const struct crb_core *c, const char *what)
{
    if (c->layout == TPMCRB_LAYOUT_COMPAT)
        return 0;
    LOG_ERROR("QEMU layout %s: QEMU's tpm-crb keeps the command buffer in "
              "the register page; the device must use the compat layout",
              what);
    return -EINVAL;
}

int qemu_check_export(const struct crb_core *c)
{
    int err = need_compat(c, "export");

    if (err < 0)
        return err;
    if (c->busy) {
        /* QEMU drains its own command before saving and never restarts
         * one after loading: the guest would wait for it forever. */
        LOG_ERROR("QEMU layout export: a command is in flight; let it "
                  "complete first");
        return -EBUSY;
    }
    if (c->active > 0) {
        LOG_ERROR("QEMU layout export: locality %d is active; QEMU's "
                  "tpm-crb has locality 0 only", c->active);
        return -EINVAL;
    }
    return 0;
}

void qemu_export(const struct crb_core *c, uint32_t *regs, uint8_t *buffer)
{
    /* What the guest reads, i.e. what QEMU keeps in its regs[]. */
    for (unsigned i = 0; i < QEMU_CRB_NUM_REGS; i++)
        regs[i] = c->image[0][i];
    memcpy(buffer, c->regs + TPMCRB_COMPAT_BUFFER_OFFSET,
           TPMCRB_COMPAT_BUFFER_SIZE);
}

int qemu_check_import(const struct crb_core *c, const uint32_t *regs)
{
    uint32_t state = regs[REG(CRB_LOC_STATE)];
    bool assigned = state & LOC_STATE_ASSIGNED;
    unsigned active = (state & LOC_STATE_ACTIVE_MASK) >> LOC_STATE_ACTIVE_SHIFT;
    int err = need_compat(c, "import");

    if (err < 0)
        return err;
    if (assigned && active >= c->nloc) {
        LOG_ERROR("QEMU layout import: active locality %u, the device has "
                  "%u", active, c->nloc);
        return -EINVAL;
    }
    if (regs[REG(CRB_CTRL_START)] & 1) {
        if (!assigned || active != 0) {
            LOG_ERROR("QEMU layout import: START is set but locality 0 "
                      "is not active");
            return -EINVAL;
        }
        if (regs[REG(CRB_CTRL_STS)] & CTRL_STS_FATAL) {
            LOG_ERROR("QEMU layout import: START is set in the fatal state");
            return -EINVAL;
        }
    }
    return 0;
}

/* Locality 0's registers; everything QEMU does not keep is at reset. */
static void import_registers(struct crb_core *c, const uint32_t *regs)
{
    struct crb_locality *l = &c->loc[0];
    uint32_t state = regs[REG(CRB_LOC_STATE)];
    uint32_t sts = regs[REG(CRB_CTRL_STS)];

    c->active = state & LOC_STATE_ASSIGNED ?
                (int)((state & LOC_STATE_ACTIVE_MASK) >> LOC_STATE_ACTIVE_SHIFT) :
                -1;
    /* QEMU 7.2 does not keep tpmEstablished in regs[] (it asks the
     * backend on every read): the backend is the authority here too. */
    if (!c->hooks.get_established)
        c->established = state & LOC_STATE_ESTABLISHED;
    c->intf_sel = INTF_SELECTOR_CRB | (regs[REG(CRB_INTF_ID_LO)] & INTF_SEL_LOCK);
    c->fatal = sts & CTRL_STS_FATAL;
    c->idle = sts & CTRL_STS_IDLE;
    /* The locality's fields where the register table places them; START
     * goes through the core's rules instead (qemu_import). */
    for (unsigned i = 0; i < crb_nfields; i++) {
        const struct crb_field *f = &crb_fields[i];
        uint32_t lo;

        if (f->reg == CRB_NO_REG || f->follows_command)
            continue;
        lo = regs[REG(f->reg)];
        if (f->type == CRB_FIELD_BOOL)
            crb_field_set(l, f, lo & f->mask);
        else if (f->type == CRB_FIELD_U32)
            crb_field_set(l, f, lo & f->mask);
        else
            crb_field_set(l, f, lo | (uint64_t)regs[REG(f->reg) + 1] << 32);
    }
}

void qemu_import(struct crb_core *c, const uint32_t *regs,
                 const uint8_t *buffer)
{
    crb_reset(c);
    import_registers(c, regs);
    memcpy(c->regs + TPMCRB_COMPAT_BUFFER_OFFSET, buffer,
           TPMCRB_COMPAT_BUFFER_SIZE);
    if (c->hooks.dirty)
        c->hooks.dirty(c->hooks.opaque, 0, crb_window_size(c));
    crb_restored(c);
    if (regs[REG(CRB_CTRL_START)] & 1)
        crb_write_reg(c, 0, CRB_CTRL_START, 1, 0xFFFFFFFFu);
}
