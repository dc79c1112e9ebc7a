/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The snapshot blob: encoding, checking and applying it to a core. The
 * layout is described in core/snapshot.h. Parsing trusts nothing: every
 * length is checked against what is left before it is used, every section
 * has its checksum, and the decoded state must be one the core can be in,
 * so that applying it cannot fail half-way.
 */
#include "core/snapshot.h"
#include "util/byteorder.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE

#define CONF_LEN      16u
#define CORE_FIXED    20u
/* Per locality: the register table's fields (core/reg_table.c). */
#define CORE_PER_LOC  crb_fields_snapshot_len()

#define CORE_IDLE        (1u << 0)
#define CORE_FATAL       (1u << 1)
#define CORE_ESTABLISHED (1u << 2)
#define CORE_BUSY        (1u << 3)
/* A resetEstablishment written while the command in flight was held
 * (locality + 1, 4 or 5): the backend hears of it when that command
 * completes, on whichever device runs it. Absent (0) in every snapshot
 * without one, so those keep their bytes. */
#define CORE_RESET_EST_SHIFT 4
#define CORE_RESET_EST_MASK  (7u << CORE_RESET_EST_SHIFT)

static const char *const section_ids[SNAP_NSECTIONS] = {
    "CONF", "CORE", "MEM ", "BKND",
};
/* The same, for messages. */
static const char *const section_names[SNAP_NSECTIONS] = {
    "CONF", "CORE", "MEM", "BKND",
};

/* ------------------------------------------------------------ CRC-32 */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;

        for (int k = 0; k < 8; k++)
            r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1)));
        crc_table[i] = r;
    }
}

uint32_t snap_crc32(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;

    pthread_once(&crc_once, crc_init);
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------ byte I/O */

struct wr {
    uint8_t *p;
    size_t off;
};

static void put32(struct wr *w, uint32_t v)
{
    put_le32(w->p + w->off, v);
    w->off += 4;
}

static void put64(struct wr *w, uint64_t v)
{
    put_le64(w->p + w->off, v);
    w->off += 8;
}

static void put_bytes(struct wr *w, const void *src, size_t n)
{
    if (n)
        memcpy(w->p + w->off, src, n);
    w->off += n;
}

#define rd32 get_le32
#define wr32 put_le32

/* Reads from a payload whose length was checked beforehand. */
struct rd {
    const uint8_t *p;
    size_t off;
};

static uint32_t get32(struct rd *r)
{
    uint32_t v = rd32(r->p + r->off);

    r->off += 4;
    return v;
}

static uint64_t get64(struct rd *r)
{
    uint64_t v = get_le64(r->p + r->off);

    r->off += 8;
    return v;
}

/* ------------------------------------------------------------ geometry */

static size_t mem_len(enum tpmcrb_layout layout, unsigned nloc)
{
    return (size_t)nloc * PAGE + (layout == TPMCRB_LAYOUT_SPLIT ? PAGE : 0);
}

static size_t core_len(unsigned nloc, uint32_t cmd_len)
{
    return CORE_FIXED + (size_t)nloc * CORE_PER_LOC + cmd_len;
}

static const char *layout_name(enum tpmcrb_layout layout)
{
    return layout == TPMCRB_LAYOUT_SPLIT ? "split" : "compat";
}

/* ------------------------------------------------------------ encoding */

static size_t begin_section(struct wr *w, unsigned idx)
{
    size_t hdr = w->off;

    put_bytes(w, section_ids[idx], 4);
    w->off += 8; /* length and checksum, filled in by end_section() */
    return hdr;
}

static void end_section(struct wr *w, size_t hdr)
{
    size_t start = hdr + SNAP_SECTION_HDR_LEN;
    uint32_t len = (uint32_t)(w->off - start);

    wr32(w->p + hdr + 4, len);
    wr32(w->p + hdr + 8, snap_crc32(w->p + start, len));
}

/* One locality's fields in the register table's order: the bools as one
 * flags word, then the numbers. */
static void put_locality(struct wr *w, const struct crb_locality *l)
{
    uint32_t flags = 0;

    for (unsigned k = 0; k < crb_nfields; k++) {
        const struct crb_field *f = &crb_fields[k];

        if (f->type == CRB_FIELD_BOOL && crb_field_get(l, f))
            flags |= f->flag;
    }
    put32(w, flags);
    for (unsigned k = 0; k < crb_nfields; k++) {
        const struct crb_field *f = &crb_fields[k];

        if (f->type == CRB_FIELD_U32)
            put32(w, (uint32_t)crb_field_get(l, f));
        else if (f->type == CRB_FIELD_U64)
            put64(w, crb_field_get(l, f));
    }
}

static void put_core(struct wr *w, const struct crb_core *c)
{
    uint32_t flags = (c->idle ? CORE_IDLE : 0) | (c->fatal ? CORE_FATAL : 0) |
                     (c->established ? CORE_ESTABLISHED : 0) |
                     (c->busy ? CORE_BUSY : 0);

    if (c->busy)
        flags |= (uint32_t)c->reset_est_pending << CORE_RESET_EST_SHIFT;
    put32(w, flags);
    put32(w, (uint32_t)c->active);
    put32(w, c->intf_sel);
    put32(w, c->busy ? c->busy_loc : 0);
    put32(w, c->busy ? c->cmd_len : 0);
    for (unsigned i = 0; i < c->nloc; i++)
        put_locality(w, &c->loc[i]);
    if (c->busy)
        put_bytes(w, crb_cmd_const(c), c->cmd_len);
}

int snap_encode(const struct crb_core *c, const char *be_name,
                const uint8_t *be_state, size_t be_len,
                uint8_t **out, size_t *out_len)
{
    size_t name_len = strlen(be_name);
    size_t body = CONF_LEN + core_len(c->nloc, c->busy ? c->cmd_len : 0) +
                  mem_len(c->layout, c->nloc) + 4 + name_len;
    size_t total, hdr;
    struct wr w;

    if (name_len > SNAP_BACKEND_NAME_MAX) {
        LOG_ERROR("snapshot: backend name '%s' is too long", be_name);
        return -EINVAL;
    }
    total = SNAP_HEADER_LEN + SNAP_NSECTIONS * SNAP_SECTION_HDR_LEN + body;
    if (be_len > UINT32_MAX - total) {
        LOG_ERROR("snapshot: backend state of %zu bytes is too large", be_len);
        return -EFBIG;
    }
    total += be_len;
    w.p = malloc(total);
    w.off = 0;
    if (!w.p)
        return -ENOMEM;
    put_bytes(&w, SNAP_MAGIC, SNAP_MAGIC_LEN);
    put32(&w, SNAP_VERSION);
    put32(&w, (uint32_t)total);
    put32(&w, SNAP_NSECTIONS);
    put32(&w, snap_crc32(w.p, w.off));

    hdr = begin_section(&w, 0);
    put64(&w, c->base);
    put32(&w, (uint32_t)c->layout);
    put32(&w, c->nloc);
    end_section(&w, hdr);

    hdr = begin_section(&w, 1);
    put_core(&w, c);
    end_section(&w, hdr);

    hdr = begin_section(&w, 2);
    put_bytes(&w, c->regs, (size_t)c->nloc * PAGE);
    if (c->layout == TPMCRB_LAYOUT_SPLIT)
        put_bytes(&w, c->buffer, PAGE);
    end_section(&w, hdr);

    hdr = begin_section(&w, 3);
    put32(&w, (uint32_t)name_len);
    put_bytes(&w, be_name, name_len);
    put_bytes(&w, be_state, be_len);
    end_section(&w, hdr);

    *out = w.p;
    *out_len = w.off;
    return 0;
}

/* ------------------------------------------------------------ framing */

static int bad(const char *what)
{
    LOG_ERROR("snapshot: %s", what);
    return -EBADMSG;
}

static int parse_header(const uint8_t *blob, size_t len, struct snap_view *v)
{
    if (len < SNAP_HEADER_LEN) {
        LOG_ERROR("snapshot: %zu bytes is too short for a snapshot header "
                  "(%u bytes)", len, SNAP_HEADER_LEN);
        return -EBADMSG;
    }
    if (memcmp(blob, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0)
        return bad("bad magic: not a tpmcrb snapshot");
    if (rd32(blob + 20) != snap_crc32(blob, 20))
        return bad("header checksum mismatch");
    v->version = rd32(blob + 8);
    if (v->version != SNAP_VERSION) {
        LOG_ERROR("snapshot: format version %u is not supported (this "
                  "build reads version %u)", v->version, SNAP_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (rd32(blob + 12) != len) {
        LOG_ERROR("snapshot: size mismatch: the header says %u bytes, the "
                  "blob has %zu (truncated or padded)", rd32(blob + 12), len);
        return -EBADMSG;
    }
    if (rd32(blob + 16) != SNAP_NSECTIONS) {
        LOG_ERROR("snapshot: %u sections, expected %u", rd32(blob + 16),
                  SNAP_NSECTIONS);
        return -EBADMSG;
    }
    v->size = len;
    return 0;
}

static int parse_sections(const uint8_t *blob, size_t len, struct snap_view *v)
{
    size_t off = SNAP_HEADER_LEN;

    for (unsigned i = 0; i < SNAP_NSECTIONS; i++) {
        struct snap_section *s = &v->sec[i];

        if (len - off < SNAP_SECTION_HDR_LEN) {
            LOG_ERROR("snapshot: truncated before the %s section",
                      section_names[i]);
            return -EBADMSG;
        }
        memcpy(s->id, blob + off, 4);
        s->id[4] = '\0';
        if (memcmp(s->id, section_ids[i], 4) != 0) {
            LOG_ERROR("snapshot: expected section %s at offset %zu",
                      section_names[i], off);
            return -EBADMSG;
        }
        s->len = rd32(blob + off + 4);
        s->crc = rd32(blob + off + 8);
        s->offset = off + SNAP_SECTION_HDR_LEN;
        if (s->len > len - s->offset) {
            LOG_ERROR("snapshot: %s section of %u bytes runs past the end",
                      section_names[i], s->len);
            return -EBADMSG;
        }
        if (snap_crc32(blob + s->offset, s->len) != s->crc) {
            LOG_ERROR("snapshot: %s section checksum mismatch",
                      section_names[i]);
            return -EBADMSG;
        }
        off = s->offset + s->len;
    }
    if (off != len)
        return bad("bytes after the last section");
    return 0;
}

/* ------------------------------------------------------------ sections */

static int parse_conf(const uint8_t *p, uint32_t len, struct snap_view *v)
{
    struct rd r = { p, 0 };
    const char *problem;

    if (len != CONF_LEN)
        return bad("CONF section has the wrong length");
    v->base = get64(&r);
    v->layout = (enum tpmcrb_layout)get32(&r);
    v->nloc = get32(&r);
    if ((problem = crb_geometry_problem(v->base, v->layout, v->nloc, false))) {
        LOG_ERROR("snapshot: configuration: %s", problem);
        return -EBADMSG;
    }
    return 0;
}

/* One locality's fields (put_locality's order); false on unknown flags. */
static bool get_locality(struct rd *r, struct crb_locality *l)
{
    uint32_t flags = get32(r), known = 0;

    for (unsigned k = 0; k < crb_nfields; k++) {
        const struct crb_field *f = &crb_fields[k];

        if (f->type == CRB_FIELD_BOOL) {
            crb_field_set(l, f, flags & f->flag);
            known |= f->flag;
        } else {
            crb_field_set(l, f, f->type == CRB_FIELD_U32 ? get32(r) : get64(r));
        }
    }
    return !(flags & ~known);
}

static int parse_core(const uint8_t *p, uint32_t len, struct snap_view *v)
{
    struct rd r = { p, 0 };
    uint32_t flags;
    bool flags_known = true;

    if (len < core_len(v->nloc, 0))
        return bad("CORE section is too short");
    flags = get32(&r);
    v->active = (int32_t)get32(&r);
    v->intf_sel = get32(&r);
    v->busy_loc = get32(&r);
    v->cmd_len = get32(&r);
    if (len != core_len(v->nloc, 0) + (size_t)v->cmd_len)
        return bad("CORE section length does not match its command length");
    if (flags & ~(CORE_IDLE | CORE_FATAL | CORE_ESTABLISHED | CORE_BUSY |
                  CORE_RESET_EST_MASK))
        return bad("core: unknown flags");
    v->reset_est_pending = (flags & CORE_RESET_EST_MASK) >> CORE_RESET_EST_SHIFT;
    v->idle = flags & CORE_IDLE;
    v->fatal = flags & CORE_FATAL;
    v->established = flags & CORE_ESTABLISHED;
    v->busy = flags & CORE_BUSY;
    for (unsigned i = 0; i < v->nloc; i++)
        flags_known &= get_locality(&r, &v->loc[i]);
    v->cmd = p + r.off;
    return snap_check_state(v, "snapshot: core", flags_known);
}

/* ------------------------------------------------------------ checks */

static int state_bad(const char *what, const char *problem)
{
    LOG_ERROR("%s: %s", what, problem);
    return -EBADMSG;
}

static int check_locality(const struct snap_view *v, unsigned i,
                          const char *what)
{
    const struct crb_locality *l = &v->loc[i];
    bool in_flight_here = v->busy && v->busy_loc == i;

    for (unsigned k = 0; k < crb_nfields; k++) {
        const struct crb_field *f = &crb_fields[k];
        uint64_t x = crb_field_get(l, f);

        /* START reads 1 exactly while that locality's command is in
         * flight. */
        if (f->follows_command && x != (in_flight_here ? 1u : 0u)) {
            LOG_ERROR("%s: %s does not match the command in flight", what,
                      crb_reg_name(f->reg));
            return -EBADMSG;
        }
        if (f->type == CRB_FIELD_U32 && (x & ~(uint64_t)f->mask)) {
            LOG_ERROR("%s: %s has bits outside %#x set", what,
                      crb_reg_name(f->reg), f->mask);
            return -EBADMSG;
        }
    }
    return 0;
}

static int check_in_flight(const struct snap_view *v, const char *what)
{
    if (!v->busy)
        return v->cmd_len || v->busy_loc || v->reset_est_pending ?
               state_bad(what, "a command without a command in flight") : 0;
    if (v->busy_loc >= v->nloc)
        return state_bad(what, "command in flight from a locality the "
                         "device lacks");
    if (v->cmd_len < TPM_HEADER_SIZE || v->cmd_len > CRB_MAX_BUFFER)
        return state_bad(what, "command in flight has an impossible length");
    /* START never takes more than the layout's buffer holds. */
    if (v->cmd_len > (v->layout == TPMCRB_LAYOUT_SPLIT
                          ? TPMCRB_SPLIT_BUFFER_SIZE
                          : TPMCRB_COMPAT_BUFFER_SIZE))
        return state_bad(what, "command in flight is larger than the "
                         "layout's buffer");
    if (tpm_hdr_size(v->cmd) != v->cmd_len)
        return state_bad(what, "command in flight disagrees with its header "
                         "size");
    /* Only localities 3 and 4 may reset tpmEstablished. */
    if (v->reset_est_pending &&
        (v->reset_est_pending < 4 || v->reset_est_pending > v->nloc))
        return state_bad(what, "resetEstablishment pending from a locality "
                         "that cannot write it");
    return 0;
}

int snap_check_state(const struct snap_view *v, const char *what,
                     bool loc_flags_known)
{
    int err;

    if (v->active < -1 || v->active >= (int)v->nloc)
        return state_bad(what, "active locality out of range");
    if ((v->intf_sel & ~(INTF_SELECTOR_MASK | INTF_SEL_LOCK)) ||
        (v->intf_sel & INTF_SELECTOR_MASK) != INTF_SELECTOR_CRB)
        return state_bad(what, "interface selector is not CRB");
    if ((err = check_in_flight(v, what)) < 0)
        return err;
    if (!loc_flags_known)
        return state_bad(what, "unknown locality flags");
    for (unsigned i = 0; i < v->nloc; i++)
        if ((err = check_locality(v, i, what)) < 0)
            return err;
    return 0;
}

static int parse_backend(const uint8_t *p, uint32_t len, struct snap_view *v)
{
    uint32_t name_len;

    if (len < 4)
        return bad("BKND section is too short");
    name_len = rd32(p);
    if (name_len > SNAP_BACKEND_NAME_MAX || name_len > len - 4)
        return bad("BKND section: bad backend name length");
    for (uint32_t i = 0; i < name_len; i++)
        if (p[4 + i] < 0x21 || p[4 + i] > 0x7E)
            return bad("BKND section: backend name is not printable");
    memcpy(v->be_name, p + 4, name_len);
    v->be_name[name_len] = '\0';
    v->be_state = p + 4 + name_len;
    v->be_len = len - 4 - name_len;
    if (!name_len && v->be_len)
        return bad("BKND section: state without a backend name");
    return 0;
}

int snap_parse(const uint8_t *blob, size_t len, struct snap_view *v)
{
    int err;

    memset(v, 0, sizeof(*v));
    if (!blob)
        return bad("no blob");
    if ((err = parse_header(blob, len, v)) < 0 ||
        (err = parse_sections(blob, len, v)) < 0 ||
        (err = parse_conf(blob + v->sec[0].offset, v->sec[0].len, v)) < 0 ||
        (err = parse_core(blob + v->sec[1].offset, v->sec[1].len, v)) < 0)
        return err;
    if (v->sec[2].len != mem_len(v->layout, v->nloc))
        return bad("MEM section does not match the configuration's pages");
    v->mem = blob + v->sec[2].offset;
    v->mem_len = v->sec[2].len;
    return parse_backend(blob + v->sec[3].offset, v->sec[3].len, v);
}

void snap_fix_checksums(uint8_t *blob, size_t len)
{
    size_t off = SNAP_HEADER_LEN;

    if (len < SNAP_HEADER_LEN)
        return;
    wr32(blob + 20, snap_crc32(blob, 20));
    for (unsigned i = 0; i < SNAP_NSECTIONS; i++) {
        uint32_t n;

        if (len - off < SNAP_SECTION_HDR_LEN)
            return;
        n = rd32(blob + off + 4);
        if (n > len - off - SNAP_SECTION_HDR_LEN)
            return;
        wr32(blob + off + 8, snap_crc32(blob + off + SNAP_SECTION_HDR_LEN, n));
        off += SNAP_SECTION_HDR_LEN + n;
    }
}

/* ------------------------------------------------------------ applying */

int snap_check_config(const struct snap_view *v, const struct crb_core *c)
{
    if (v->base == c->base && v->layout == c->layout && v->nloc == c->nloc)
        return 0;
    LOG_ERROR("%s: configuration mismatch: it is of a device at %#llx "
              "with the %s layout and %u localit%s, this device is at "
              "%#llx with the %s layout and %u localit%s",
              v->mem ? "snapshot" : "device state",
              (unsigned long long)v->base, layout_name(v->layout), v->nloc,
              v->nloc == 1 ? "y" : "ies", (unsigned long long)c->base,
              layout_name(c->layout), c->nloc, c->nloc == 1 ? "y" : "ies");
    return -EINVAL;
}

size_t snap_buffers_len(enum tpmcrb_layout layout, unsigned nloc)
{
    return layout == TPMCRB_LAYOUT_SPLIT ? TPMCRB_SPLIT_BUFFER_SIZE
                                         : (size_t)nloc * TPMCRB_COMPAT_BUFFER_SIZE;
}

void snap_buffers_get(const struct crb_core *c, uint8_t *out)
{
    if (c->layout == TPMCRB_LAYOUT_SPLIT) {
        memcpy(out, c->buffer, TPMCRB_SPLIT_BUFFER_SIZE);
        return;
    }
    for (unsigned i = 0; i < c->nloc; i++)
        memcpy(out + (size_t)i * TPMCRB_COMPAT_BUFFER_SIZE,
               c->regs + (size_t)i * PAGE + CRB_DATA_BUFFER,
               TPMCRB_COMPAT_BUFFER_SIZE);
}

static void put_buffers(struct crb_core *c, const uint8_t *in)
{
    if (c->layout == TPMCRB_LAYOUT_SPLIT) {
        memcpy(c->buffer, in, TPMCRB_SPLIT_BUFFER_SIZE);
        return;
    }
    for (unsigned i = 0; i < c->nloc; i++)
        memcpy(c->regs + (size_t)i * PAGE + CRB_DATA_BUFFER,
               in + (size_t)i * TPMCRB_COMPAT_BUFFER_SIZE,
               TPMCRB_COMPAT_BUFFER_SIZE);
}

void snap_apply(struct crb_core *c, const struct snap_view *v)
{
    size_t regs_len = (size_t)c->nloc * PAGE;

    c->active = v->active;
    c->idle = v->idle;
    c->fatal = v->fatal;
    c->established = v->established;
    c->intf_sel = v->intf_sel;
    for (unsigned i = 0; i < c->nloc; i++)
        c->loc[i] = v->loc[i];
    c->busy = v->busy;
    c->busy_loc = v->busy_loc;
    c->cmd_len = v->cmd_len;
    c->reset_est_pending = v->reset_est_pending;
    if (v->busy)
        memcpy(crb_cmd(c), v->cmd, v->cmd_len);
    if (v->mem) {
        memcpy(c->regs, v->mem, regs_len);
        if (c->layout == TPMCRB_LAYOUT_SPLIT)
            memcpy(c->buffer, v->mem + regs_len, PAGE);
    } else if (v->buffers) {
        put_buffers(c, v->buffers);
    }
    if (c->hooks.dirty)
        c->hooks.dirty(c->hooks.opaque, 0, crb_window_size(c));
    crb_restored(c);
}

/* ------------------------------------------------------------ scratch */

static void scratch_submit(void *opaque, unsigned locality, uint32_t len)
{
    (void)opaque; (void)locality; (void)len;
}

int snap_scratch_init(struct crb_core *c, uint64_t base,
                      enum tpmcrb_layout layout, unsigned nloc)
{
    const struct crb_hooks hooks = { .submit = scratch_submit };
    struct tpmcrb_config cfg;
    uint8_t *regs, *buffer = NULL;

    tpmcrb_config_init(&cfg);
    cfg.base = base;
    cfg.layout = layout;
    cfg.localities = nloc;
    regs = calloc(nloc, PAGE);
    if (layout == TPMCRB_LAYOUT_SPLIT)
        buffer = calloc(1, PAGE);
    if (!regs || (layout == TPMCRB_LAYOUT_SPLIT && !buffer)) {
        free(regs);
        free(buffer);
        return -ENOMEM;
    }
    crb_init(c, &cfg, regs, buffer, &hooks);
    return 0;
}

void snap_scratch_free(struct crb_core *c)
{
    free(c->regs);
    free(c->buffer);
    c->regs = c->buffer = NULL;
}
