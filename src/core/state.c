/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * struct tpmcrb_device_state: the device state as named fields, for a VMM
 * that migrates it in its own format. Its per-locality arrays are the rows
 * of the register table (core/regs.h), loc_<member> for each, so that a
 * row added there without its public array does not compile. Import takes
 * nothing on trust: every field goes through the checks a snapshot's CORE
 * section goes through, plus the ones the struct's form needs (bools that
 * are 0 or 1, unused entries zero).
 */
#include "core/snapshot.h"
#include "util/log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define MEMBER(m) (((struct tpmcrb_device_state *)0)->loc_##m)

/* Each row's public array: one entry per locality, of the row's type. */
#define ASSERT_ROW(m, t, r, msk, flg, rst, follows) \
    _Static_assert(sizeof(MEMBER(m)[0]) == sizeof(CRB_CTYPE_##t) && \
                   sizeof(MEMBER(m)) / sizeof(MEMBER(m)[0]) == \
                       TPMCRB_MAX_LOCALITIES, \
                   "loc_" #m " must have one " #t " per locality");
CRB_LOCALITY_FIELDS(ASSERT_ROW)

#define OFFSET_ROW(m, t, r, msk, flg, rst, follows) \
    offsetof(struct tpmcrb_device_state, loc_##m),

/* Where row k of crb_fields[] lives in the public struct. */
static const size_t row_offsets[] = { CRB_LOCALITY_FIELDS(OFFSET_ROW) };

static void *entry(const struct tpmcrb_device_state *st, unsigned k,
                   unsigned loc)
{
    size_t elem = crb_fields[k].type == CRB_FIELD_BOOL ? sizeof(bool)
                : crb_fields[k].type == CRB_FIELD_U32  ? sizeof(uint32_t)
                                                       : sizeof(uint64_t);

    return (char *)st + row_offsets[k] + (size_t)loc * elem;
}

/* A bool's byte as stored: anything but 0 or 1 is refused, not read as a
 * bool (which it is not). */
static unsigned bool_byte(const bool *b)
{
    unsigned char byte;

    memcpy(&byte, b, 1);
    return byte;
}

static uint64_t entry_get(const struct tpmcrb_device_state *st, unsigned k,
                          unsigned loc)
{
    const void *p = entry(st, k, loc);
    uint32_t v32;
    uint64_t v64;

    switch (crb_fields[k].type) {
    case CRB_FIELD_BOOL:
        return bool_byte(p);
    case CRB_FIELD_U32:
        memcpy(&v32, p, sizeof(v32));
        return v32;
    default:
        memcpy(&v64, p, sizeof(v64));
        return v64;
    }
}

static void entry_set(struct tpmcrb_device_state *st, unsigned k,
                      unsigned loc, uint64_t v)
{
    void *p = entry(st, k, loc);
    uint32_t v32 = (uint32_t)v;
    bool b = v != 0;

    switch (crb_fields[k].type) {
    case CRB_FIELD_BOOL:
        memcpy(p, &b, sizeof(b));
        break;
    case CRB_FIELD_U32:
        memcpy(p, &v32, sizeof(v32));
        break;
    default:
        memcpy(p, &v, sizeof(v));
        break;
    }
}

void state_export(const struct crb_core *c, struct tpmcrb_device_state *st)
{
    uint32_t size = st->size;

    memset(st, 0, size);
    st->size = size;
    st->base = c->base;
    st->layout = (uint32_t)c->layout;
    st->localities = c->nloc;
    st->active_locality = c->active;
    st->idle = c->idle;
    st->fatal = c->fatal;
    st->intf_sel = c->intf_sel;
    for (unsigned i = 0; i < c->nloc; i++)
        for (unsigned k = 0; k < crb_nfields; k++)
            entry_set(st, k, i, crb_field_get(&c->loc[i], &crb_fields[k]));
    if (c->busy) {
        st->cmd_held = true;
        st->cmd_locality = c->busy_loc;
        st->cmd_len = c->cmd_len;
        st->cmd_reset_established = c->reset_est_pending;
        memcpy(st->cmd, crb_cmd_const(c), c->cmd_len);
    }
}

static int bad_field(const char *field, const char *problem)
{
    LOG_ERROR("device state: %s %s", field, problem);
    return -EBADMSG;
}

static int parse_bools(const struct tpmcrb_device_state *st)
{
    static const struct {
        const char *name;
        size_t offset;
    } bools[] = {
        { "idle", offsetof(struct tpmcrb_device_state, idle) },
        { "fatal", offsetof(struct tpmcrb_device_state, fatal) },
        { "cmd_held", offsetof(struct tpmcrb_device_state, cmd_held) },
    };

    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
        if (bool_byte((const bool *)((const char *)st + bools[i].offset)) > 1)
            return bad_field(bools[i].name, "is neither false nor true");
    return 0;
}

/* The table's rows into v->loc; entries past the device's localities must
 * be zero. */
static int parse_localities(const struct tpmcrb_device_state *st,
                            struct snap_view *v)
{
    for (unsigned k = 0; k < crb_nfields; k++) {
        const struct crb_field *f = &crb_fields[k];

        for (unsigned i = 0; i < TPMCRB_MAX_LOCALITIES; i++) {
            uint64_t x = entry_get(st, k, i);

            if (f->type == CRB_FIELD_BOOL && x > 1) {
                LOG_ERROR("device state: loc_%s[%u] is neither false nor "
                          "true", f->name, i);
                return -EBADMSG;
            }
            if (i >= v->nloc && x) {
                LOG_ERROR("device state: loc_%s[%u] is set on a device "
                          "with %u localit%s", f->name, i, v->nloc,
                          v->nloc == 1 ? "y" : "ies");
                return -EBADMSG;
            }
            if (i < v->nloc)
                crb_field_set(&v->loc[i], f, x);
        }
    }
    return 0;
}

int state_parse(const struct tpmcrb_device_state *st, const uint8_t *buffers,
                struct snap_view *v)
{
    const char *problem;
    int err;

    memset(v, 0, sizeof(*v));
    if (st->layout != TPMCRB_LAYOUT_SPLIT && st->layout != TPMCRB_LAYOUT_COMPAT)
        return bad_field("layout", "is not a layout");
    v->base = st->base;
    v->layout = (enum tpmcrb_layout)st->layout;
    v->nloc = st->localities;
    if ((problem = crb_geometry_problem(v->base, v->layout, v->nloc, false))) {
        LOG_ERROR("device state: configuration: %s", problem);
        return -EBADMSG;
    }
    if ((err = parse_bools(st)) < 0 || (err = parse_localities(st, v)) < 0)
        return err;
    v->active = st->active_locality;
    v->idle = st->idle;
    v->fatal = st->fatal;
    v->intf_sel = st->intf_sel;
    v->busy = st->cmd_held;
    v->busy_loc = st->cmd_locality;
    v->cmd_len = st->cmd_len;
    v->reset_est_pending = st->cmd_reset_established;
    v->cmd = st->cmd;
    v->buffers = buffers;
    return snap_check_state(v, "device state", true);
}
