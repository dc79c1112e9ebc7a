/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshot/restore and the QEMU layout (docs/design.md, "Snapshot format"): round trips for
 * every configuration, a command in flight, corrupt blobs (each refused
 * with its own message, the device unchanged), pause/resume rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "core/snapshot.h"
#include "util/tpm_cmd.h"
#include "device_fx.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE

/* ------------------------------------------------------------ log capture */

static char last_error[512];

static void capture(enum tpmcrb_log_level level, const char *msg, void *opaque)
{
    (void)opaque;
    if (level == TPMCRB_LOG_ERROR)
        snprintf(last_error, sizeof(last_error), "%s", msg);
}

static void expect_error(const char *needle)
{
    if (!strstr(last_error, needle))
        fail_msg("expected an error containing '%s', got '%s'", needle,
                 last_error);
}

/* ------------------------------------------------------------ fixtures */

static struct fx *open_fx(enum tpmcrb_layout layout, unsigned nloc,
                          bool with_state, uint64_t base)
{
    return open_bound(layout, nloc, with_state, base, 200000);
}

static uint8_t *buffer_of(struct fx *f, unsigned loc)
{
    return tt_cmd_buffer(f->dev, loc);
}

/* Pause @f, then START a command there: it is held, in flight. */
static void hold_command(struct fx *f, unsigned loc, uint32_t tag)
{
    assert_int_equal(tpmcrb_device_pause(f->dev, 1000), 0);
    start_command(f, loc, tag);
}

static void save(struct fx *f, uint8_t **blob, size_t *len)
{
    assert_int_equal(tpmcrb_snapshot_save(f->dev, blob, len), 0);
}

static void assert_same_blob(const uint8_t *a, size_t alen, const uint8_t *b,
                             size_t blen)
{
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
}

/* A snapshot from device a, to load into device b. */
struct pair {
    struct fx *a, *b;
    uint8_t *blob;
    size_t len;
};

static struct pair open_pair(struct fx *a, struct fx *b)
{
    return (struct pair){ .a = a, .b = b };
}

/* Save a; b must take the snapshot. */
static void transfer(struct pair *p)
{
    save(p->a, &p->blob, &p->len);
    assert_int_equal(tpmcrb_snapshot_load(p->b->dev, p->blob, p->len), 0);
}

/* Five localities of @layout on both sides. */
static struct pair std_pair(enum tpmcrb_layout layout)
{
    return open_pair(open_std(layout, 5), open_std(layout, 5));
}

/* Migration abandoned on the source side: resuming it runs the held
 * command there. */
static void source_runs_on_resume(struct pair *p, unsigned loc, uint32_t tag)
{
    tpmcrb_device_resume(p->a->dev);
    expect_response(p->a, loc, tag, 1);
}

static void close_pair(struct pair *p)
{
    free(p->blob);
    close_fx(p->a);           /* with a command held too: it is dropped */
    close_fx(p->b);
}

/* ------------------------------------------------------------ format */

static void crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(snap_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(snap_crc32(NULL, 0), 0);
}

/* Every kind of register state a guest can leave behind, and bytes in
 * locality 0's page. */
static void busy_guest(struct fx *f)
{
    busy_registers(f);
    memset((uint8_t *)tpmcrb_regs_mem(f->dev) + 0x900, 0x5A, 16);
}

static void roundtrip(enum tpmcrb_layout layout, unsigned nloc)
{
    struct pair p = open_pair(open_std(layout, nloc), open_std(layout, nloc));
    struct fx *a = p.a, *b = p.b;
    uint8_t *blob2;
    size_t len2;

    busy_guest(a);
    transfer(&p);
    save(b, &blob2, &len2);
    assert_same_blob(p.blob, p.len, blob2, len2);
    assert_memory_equal(tpmcrb_regs_mem(a->dev), tpmcrb_regs_mem(b->dev),
                        nloc * PAGE);
    if (layout == TPMCRB_LAYOUT_SPLIT)
        assert_memory_equal(tpmcrb_buffer_mem(a->dev),
                            tpmcrb_buffer_mem(b->dev), PAGE);
    assert_int_equal(atomic_load(&b->cb.count), 1);
    /* The restored device carries on: locality 0 was seized (five) or is
     * still active (one). */
    if (nloc == 1) {
        wr(b, 0, CRB_CTRL_START, 1);
        expect_response(b, 0, 11, 2);
    }
    free(blob2);
    close_pair(&p);
}

static void roundtrip_split5(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_SPLIT, 5); }
static void roundtrip_compat5(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_COMPAT, 5); }
static void roundtrip_split1(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_SPLIT, 1); }
static void roundtrip_compat1(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_COMPAT, 1); }

/* ------------------------------------------------------------ in flight */

static void held_command_completes_after_restore(void **state)
{
    struct pair p = std_pair(TPMCRB_LAYOUT_SPLIT);
    struct snap_view v;

    (void)state;
    hold_command(p.a, 3, 77);
    assert_int_equal(rd(p.a, 3, CRB_CTRL_START), 1);
    assert_false(tpmcrb_busy(p.a->dev));     /* held, not with the backend */
    transfer(&p);
    assert_int_equal(snap_parse(p.blob, p.len, &v), 0);
    assert_true(v.busy);
    assert_int_equal(v.busy_loc, 3);
    expect_response(p.b, 3, 77, 1);
    assert_int_equal(atomic_load(&p.a->cb.executed), 0);
    assert_int_equal(atomic_load(&p.b->cb.executed), 1);
    close_pair(&p);
}

/* A resetEstablishment written while a START was held travels with the
 * held command and reaches the destination's backend when it completes;
 * meanwhile the destination's guest reads tpmEstablished cleared. */
static void held_command_carries_reset_establishment(void **state)
{
    struct pair p = std_pair(TPMCRB_LAYOUT_SPLIT);
    struct snap_view v;

    (void)state;
    hold_command(p.a, 4, 21);
    wr(p.a, 4, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    assert_int_equal(tpmcrb_device_pause(p.b->dev, 1000), 0);
    transfer(&p);
    assert_int_equal(snap_parse(p.blob, p.len, &v), 0);
    assert_int_equal(v.reset_est_pending, 5);
    assert_true(p.b->cb.established);
    assert_int_equal(rd(p.b, 4, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED, 0);
    tpmcrb_device_resume(p.b->dev);
    expect_response(p.b, 4, 21, 1);
    assert_false(p.b->cb.established);
    assert_true(p.a->cb.established);
    close_pair(&p);
}

static void held_command_waits_for_resume(void **state)
{
    struct pair p = std_pair(TPMCRB_LAYOUT_COMPAT);

    (void)state;
    hold_command(p.a, 0, 5);
    assert_int_equal(tpmcrb_device_pause(p.b->dev, 1000), 0);
    transfer(&p);
    assert_true(tpmcrb_device_paused(p.b->dev));
    assert_int_equal(atomic_load(&p.b->cb.executed), 0);
    assert_int_equal(rd(p.b, 0, CRB_CTRL_START), 1);
    tpmcrb_device_resume(p.b->dev);
    expect_response(p.b, 0, 5, 1);
    source_runs_on_resume(&p, 0, 5);
    close_pair(&p);
}

/* START takes a private copy: a guest that rewrites the buffer while its
 * command waits (held here, or running) changes nothing, and the copy is
 * what a snapshot carries. */
static void held_command_is_a_private_copy(void **state)
{
    struct pair p = std_pair(TPMCRB_LAYOUT_COMPAT);

    (void)state;
    hold_command(p.a, 1, 5);
    counter_command(buffer_of(p.a, 1), 99);
    transfer(&p);
    expect_response(p.b, 1, 5, 1);
    source_runs_on_resume(&p, 1, 5);
    close_pair(&p);
}

static void running_command_is_drained(void **state)
{
    struct pair p = open_pair(
        open_bound(TPMCRB_LAYOUT_SPLIT, 5, true, TPMCRB_X86_BASE, 0),
        open_std(TPMCRB_LAYOUT_SPLIT, 5));
    struct fx *a = p.a;
    struct snap_view v;

    (void)state;
    atomic_store(&a->cb.block, true);
    start_command(a, 0, 9);
    assert_true(tpmcrb_busy(a->dev));
    assert_int_equal(tpmcrb_device_pause(a->dev, 20), -ETIMEDOUT);
    assert_int_equal(tpmcrb_snapshot_save(a->dev, &p.blob, &p.len), -EBUSY);
    expect_error("still running");
    atomic_store(&a->cb.block, false);
    assert_int_equal(tpmcrb_device_pause(a->dev, 5000), 0);
    transfer(&p);
    assert_int_equal(snap_parse(p.blob, p.len, &v), 0);
    assert_false(v.busy);
    expect_response(p.b, 0, 9, 1);
    assert_int_equal(atomic_load(&p.b->cb.executed), 0);
    close_pair(&p);
}

/* Save on a device nobody paused waits for the running command. */
static void save_unpaused_waits(void **state)
{
    struct fx *a = open_bound(TPMCRB_LAYOUT_SPLIT, 1, true, TPMCRB_X86_BASE, 0);
    uint8_t *blob;
    size_t len;

    (void)state;
    atomic_store(&a->cb.delay_us, 30000);
    start_command(a, 0, 1);
    save(a, &blob, &len);
    assert_false(tpmcrb_device_paused(a->dev));
    assert_int_equal(atomic_load(&a->cb.count), 1);
    free(blob);
    close_fx(a);
}

static void pause_holds_start(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_SPLIT, 5);

    (void)state;
    hold_command(a, 0, 3);
    assert_int_equal(tpmcrb_wait_idle(a->dev, 100), 0);
    assert_int_equal(atomic_load(&a->cb.executed), 0);
    /* A second START while one is held is refused as while busy. */
    wr(a, 0, CRB_CTRL_START, 1);
    tpmcrb_device_resume(a->dev);
    expect_response(a, 0, 3, 1);
    assert_int_equal(atomic_load(&a->cb.executed), 1);
    /* Reset drops a held command. */
    hold_command(a, 0, 4);
    tpmcrb_device_reset(a->dev);
    tpmcrb_device_resume(a->dev);
    assert_int_equal(tpmcrb_wait_idle(a->dev, 100), 0);
    assert_int_equal(atomic_load(&a->cb.executed), 1);
    assert_int_equal(rd(a, 0, CRB_CTRL_START), 0);
    close_fx(a);
}

/* ------------------------------------------------------------ corrupt */

struct corrupt_fx {
    struct fx *src, *dst;
    uint8_t *blob, *before;
    size_t len, before_len;
};

static struct corrupt_fx *corrupt_setup(void)
{
    struct corrupt_fx *c = calloc(1, sizeof(*c));

    c->src = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    c->dst = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    busy_guest(c->src);
    hold_command(c->src, 4, 8);               /* held: in flight */
    save(c->src, &c->blob, &c->len);
    start_command(c->dst, 1, 2);
    expect_response(c->dst, 1, 2, 1);
    save(c->dst, &c->before, &c->before_len);
    return c;
}

static void corrupt_teardown(struct corrupt_fx *c)
{
    free(c->blob);
    free(c->before);
    close_fx(c->src);
    close_fx(c->dst);
    free(c);
}

/* Load a damaged copy: refused with @err and @msg, nothing changed. */
static void refused(struct corrupt_fx *c, const uint8_t *blob, size_t len,
                    int err, const char *msg)
{
    uint8_t *after;
    size_t after_len;

    last_error[0] = '\0';
    assert_int_equal(tpmcrb_snapshot_load(c->dst->dev, blob, len), err);
    expect_error(msg);
    save(c->dst, &after, &after_len);
    assert_same_blob(c->before, c->before_len, after, after_len);
    assert_int_equal(atomic_load(&c->dst->cb.count), 1);
    assert_int_equal(atomic_load(&c->dst->cb.executed), 1);
    free(after);
}

static uint8_t *copy_of(struct corrupt_fx *c)
{
    uint8_t *p = malloc(c->len + 1);

    memcpy(p, c->blob, c->len);
    return p;
}

/* Offset of a section's payload (the blob is intact). */
static size_t payload(struct corrupt_fx *c, unsigned idx)
{
    struct snap_view v;

    assert_int_equal(snap_parse(c->blob, c->len, &v), 0);
    return v.sec[idx].offset;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void corrupt_framing(void **state)
{
    struct corrupt_fx *c = corrupt_setup();
    uint8_t *p = copy_of(c);
    static const char *const names[] = { "CONF", "CORE", "MEM", "BKND" };
    char msg[64];

    (void)state;
    refused(c, p, 0, -EBADMSG, "too short");
    refused(c, p, 23, -EBADMSG, "too short");
    p[0] ^= 1;
    refused(c, p, c->len, -EBADMSG, "bad magic");
    p[0] ^= 1;
    p[21] ^= 0x80;
    refused(c, p, c->len, -EBADMSG, "header checksum");
    p[21] ^= 0x80;
    put_le32(p + 8, 2);
    snap_fix_checksums(p, c->len);
    refused(c, p, c->len, -EPROTONOSUPPORT, "format version 2");
    memcpy(p, c->blob, c->len);
    refused(c, p, c->len - 1, -EBADMSG, "size mismatch");
    p[c->len] = 0;
    refused(c, p, c->len + 1, -EBADMSG, "size mismatch");
    for (unsigned i = 0; i < SNAP_NSECTIONS; i++) {
        size_t off = payload(c, i);

        p[off] ^= 0x10;
        snprintf(msg, sizeof(msg), "%s section checksum", names[i]);
        refused(c, p, c->len, -EBADMSG, msg);
        p[off] ^= 0x10;
        p[off - 12] ^= 0x20;                     /* the section's id */
        refused(c, p, c->len, -EBADMSG, "expected section");
        p[off - 12] ^= 0x20;
    }
    put_le32(p + payload(c, 3) - 8, 0x7FFFFFFF);  /* BKND length */
    refused(c, p, c->len, -EBADMSG, "runs past the end");
    free(p);
    corrupt_teardown(c);
}

/* Content damage behind a valid checksum. */
static void corrupt_content(void **state)
{
    struct corrupt_fx *c = corrupt_setup();
    uint8_t *p = copy_of(c);
    size_t core = payload(c, 1), conf = payload(c, 0), bknd = payload(c, 3);
    size_t loc0 = core + 20;
    const struct {
        size_t off;
        uint32_t value;
        const char *msg;
    } cases[] = {
        { conf + 8, 7, "unknown buffer layout" },
        { conf + 12, 3, "localities must be 1 or 5" },
        { conf, 0x123, "not a usable page" },
        { core, 0x80, "unknown flags" },
        /* a resetEstablishment (locality 4) held with no command */
        { core, 0x50, "a command without a command in flight" },
        { core + 4, 5, "active locality out of range" },
        { core + 4, (uint32_t)-2, "active locality out of range" },
        { core + 8, INTF_SEL_LOCK, "not CRB" },
        { core + 12, 5, "locality the device lacks" },
        { core + 16, 9, "length does not match" },
        { loc0, 4, "unknown locality flags" },
        { loc0 + 4, 2, "CTRL_CANCEL" },
        { loc0 + 8, 1, "CTRL_START does not match" },
        { loc0 + 12, 0x100, "INT_ENABLE" },
        { loc0 + 16, 0x10, "INT_STS" },
        { bknd, 40, "backend name length" },
        { bknd + 4, 0x09, "not printable" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(p, c->blob, c->len);
        put_le32(p + cases[i].off, cases[i].value);
        snap_fix_checksums(p, c->len);
        refused(c, p, c->len, -EBADMSG, cases[i].msg);
    }
    /* The command in flight must agree with its own header. */
    memcpy(p, c->blob, c->len);
    p[core + 20 + 5 * 44 + 5] ^= 1;
    snap_fix_checksums(p, c->len);
    refused(c, p, c->len, -EBADMSG, "disagrees with its header");
    /* A backend state the backend does not accept. */
    memcpy(p, c->blob, c->len);
    p[c->len - 9] = 'X';
    snap_fix_checksums(p, c->len);
    refused(c, p, c->len, -EINVAL, "rejected the state");
    free(p);
    corrupt_teardown(c);
}

/* An in-flight command larger than the layout's buffer is refused: START
 * never takes one, so a snapshot with one is made up. Made here from a
 * split-layout snapshot (4000 bytes fit its buffer) relabelled compat. */
static void in_flight_larger_than_layout_buffer(void **state)
{
    struct fx *src = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *dst = open_std(TPMCRB_LAYOUT_COMPAT, 5);
    struct snap_view v;
    uint8_t *blob;
    size_t len;

    (void)state;
    assert_int_equal(tpmcrb_device_pause(src->dev, 1000), 0);
    tt_request_locality(src->dev, 0);
    wr(src, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    counter_command(buffer_of(src, 0), 7);
    tpm_put_be32(buffer_of(src, 0) + 2, TPMCRB_COMPAT_BUFFER_SIZE + 32);
    wr(src, 0, CRB_CTRL_START, 1);
    save(src, &blob, &len);
    assert_int_equal(snap_parse(blob, len, &v), 0);
    assert_int_equal(v.cmd_len, TPMCRB_COMPAT_BUFFER_SIZE + 32);
    put_le32(blob + v.sec[0].offset + 8, TPMCRB_LAYOUT_COMPAT);
    snap_fix_checksums(blob, len);
    last_error[0] = '\0';
    assert_int_equal(tpmcrb_snapshot_load(dst->dev, blob, len), -EBADMSG);
    expect_error("larger than the layout's buffer");
    free(blob);
    close_fx(src);
    close_fx(dst);
}

static void every_byte_and_length(void **state)
{
    struct corrupt_fx *c = corrupt_setup();
    uint8_t *p = copy_of(c), *after;
    size_t after_len;

    (void)state;
    for (size_t i = 0; i < c->len; i++) {
        p[i] ^= (uint8_t)(1u << (i % 8));
        assert_true(tpmcrb_snapshot_load(c->dst->dev, p, c->len) < 0);
        p[i] = c->blob[i];
    }
    for (size_t n = 0; n < c->len; n += 1 + n / 64)
        assert_true(tpmcrb_snapshot_load(c->dst->dev, p, n) < 0);
    save(c->dst, &after, &after_len);
    assert_same_blob(c->before, c->before_len, after, after_len);
    assert_int_equal(atomic_load(&c->dst->cb.count), 1);
    free(after);
    free(p);
    corrupt_teardown(c);
}

static void configuration_mismatch(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *other[] = {
        open_fx(TPMCRB_LAYOUT_SPLIT, 5, true, 0x40000000),
        open_std(TPMCRB_LAYOUT_COMPAT, 5),
        open_std(TPMCRB_LAYOUT_SPLIT, 1),
    };
    uint8_t *blob;
    size_t len;

    (void)state;
    save(a, &blob, &len);
    for (size_t i = 0; i < 3; i++) {
        last_error[0] = '\0';
        assert_int_equal(tpmcrb_snapshot_load(other[i]->dev, blob, len),
                         -EINVAL);
        expect_error("configuration mismatch");
        close_fx(other[i]);
    }
    free(blob);
    close_fx(a);
}

static void backend_mismatch_and_failure(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *b = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *c = open_fx(TPMCRB_LAYOUT_SPLIT, 5, false, TPMCRB_X86_BASE);
    uint8_t *blob, *before, *after;
    size_t len, before_len, after_len;

    (void)state;
    start_command(a, 0, 1);
    expect_response(a, 0, 1, 1);
    save(a, &blob, &len);
    b->cb.ops.name = "other";
    assert_int_equal(tpmcrb_snapshot_load(b->dev, blob, len), -EINVAL);
    expect_error("is for 'counter'");
    b->cb.ops.name = "counter";
    assert_int_equal(tpmcrb_snapshot_load(c->dev, blob, len), -EOPNOTSUPP);
    expect_error("cannot load");
    /* A backend that fails keeps its state, and so does the device. */
    save(b, &before, &before_len);
    b->cb.fail_load = -EIO;
    assert_int_equal(tpmcrb_snapshot_load(b->dev, blob, len), -EIO);
    expect_error("device is unchanged");
    b->cb.fail_load = 0;
    save(b, &after, &after_len);
    assert_same_blob(before, before_len, after, after_len);
    /* And one that cannot save makes save fail, not a partial blob. */
    b->cb.fail_save = -ENOSPC;
    assert_int_equal(tpmcrb_snapshot_save(b->dev, &after, &after_len), -ENOSPC);
    assert_false(tpmcrb_device_paused(b->dev));
    free(blob);
    free(before);
    free(after);
    close_fx(a);
    close_fx(b);
    close_fx(c);
}

/* A backend without state: the snapshot has the device only, and loading
 * it leaves the target's backend alone. */
static void device_only_snapshot(void **state)
{
    struct pair p = open_pair(open_fx(TPMCRB_LAYOUT_SPLIT, 5, false,
                                      TPMCRB_X86_BASE),
                              open_std(TPMCRB_LAYOUT_SPLIT, 5));
    struct snap_view v;

    (void)state;
    start_command(p.b, 0, 1);
    expect_response(p.b, 0, 1, 1);
    transfer(&p);
    assert_int_equal(snap_parse(p.blob, p.len, &v), 0);
    assert_string_equal(v.be_name, "");
    assert_int_equal(v.be_len, 0);
    assert_int_equal(atomic_load(&p.b->cb.count), 1);
    close_pair(&p);
}

/* ------------------------------------------------------------ QEMU layout */

static void qemu_reset_regs(uint32_t *regs, uint64_t base)
{
    memset(regs, 0, TPMCRB_QEMU_NUM_REGS * 4);
    regs[CRB_LOC_STATE / 4] = LOC_STATE_REG_VALID;
    regs[CRB_INTF_ID_LO / 4] = 0x25811;
    regs[CRB_INTF_ID_HI / 4] = 0x1014;
    regs[CRB_CTRL_STS / 4] = CTRL_STS_IDLE;
    regs[CRB_CMD_SIZE / 4] = regs[CRB_RSP_SIZE / 4] = TPMCRB_COMPAT_BUFFER_SIZE;
    regs[CRB_CMD_LADDR / 4] = regs[CRB_RSP_ADDR_LO / 4] =
        (uint32_t)(base + TPMCRB_COMPAT_BUFFER_OFFSET);
}

static void qemu_roundtrip(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_COMPAT, 1);
    struct fx *b = open_std(TPMCRB_LAYOUT_COMPAT, 1);
    uint32_t ra[TPMCRB_QEMU_NUM_REGS], rb[TPMCRB_QEMU_NUM_REGS];
    uint8_t ba[TPMCRB_COMPAT_BUFFER_SIZE], bb[TPMCRB_COMPAT_BUFFER_SIZE];

    (void)state;
    start_command(a, 0, 21);
    expect_response(a, 0, 21, 1);
    wr(a, 0, CRB_INT_ENABLE, INT_GLOBAL_ENABLE | INT_CMD_READY);
    assert_int_equal(tpmcrb_qemu_state_export(a->dev, ra, ba), 0);
    assert_int_equal(ra[CRB_LOC_STATE / 4], 0x83);
    assert_int_equal(ra[CRB_CTRL_STS / 4], 0);
    assert_int_equal(tpmcrb_qemu_state_import(b->dev, ra, ba), 0);
    assert_int_equal(tpmcrb_qemu_state_export(b->dev, rb, bb), 0);
    assert_memory_equal(ra, rb, sizeof(ra));
    assert_memory_equal(ba, bb, sizeof(ba));
    assert_memory_equal(tpmcrb_regs_mem(a->dev), tpmcrb_regs_mem(b->dev), PAGE);
    close_fx(a);
    close_fx(b);
}

/* The state a QEMU 7.2 tpm-crb has after reset (tpmEstablished is not in
 * its regs[]); the guest carries on from it on tpmcrb. */
static void qemu_72_reset_state(void **state)
{
    struct fx *b = open_std(TPMCRB_LAYOUT_COMPAT, 1);
    uint32_t regs[TPMCRB_QEMU_NUM_REGS], out[TPMCRB_QEMU_NUM_REGS];
    uint8_t buf[TPMCRB_COMPAT_BUFFER_SIZE] = { 0 };

    (void)state;
    qemu_reset_regs(regs, TPMCRB_X86_BASE);
    assert_int_equal(tpmcrb_qemu_state_import(b->dev, regs, buf), 0);
    assert_int_equal(rd(b, 0, CRB_LOC_STATE), 0x81);
    assert_int_equal(rd(b, 0, CRB_INTF_ID_LO), 0x25811);
    assert_int_equal(rd(b, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
    assert_int_equal(tpmcrb_qemu_state_export(b->dev, out, buf), 0);
    /* The identity registers are the device's own (QEMU's DID is 0). */
    regs[CRB_LOC_STATE / 4] |= LOC_STATE_ESTABLISHED;
    regs[CRB_INTF_ID_HI / 4] = INTF_VID | (INTF_DID << 16);
    assert_memory_equal(regs, out, sizeof(regs));
    start_command(b, 0, 4);
    expect_response(b, 0, 4, 1);
    close_fx(b);
}

static void qemu_import_runs_started_command(void **state)
{
    struct fx *b = open_std(TPMCRB_LAYOUT_COMPAT, 5);
    uint32_t regs[TPMCRB_QEMU_NUM_REGS];
    uint8_t buf[TPMCRB_COMPAT_BUFFER_SIZE] = { 0 };

    (void)state;
    qemu_reset_regs(regs, TPMCRB_X86_BASE);
    regs[CRB_LOC_STATE / 4] |= LOC_STATE_ASSIGNED;
    regs[CRB_LOC_STS / 4] = LOC_STS_GRANTED;
    regs[CRB_CTRL_STS / 4] = 0;
    regs[CRB_CTRL_START / 4] = 1;
    counter_command(buf, 1234);
    assert_int_equal(tpmcrb_qemu_state_import(b->dev, regs, buf), 0);
    expect_response(b, 0, 1234, 1);
    close_fx(b);
}

static void qemu_refusals(void **state)
{
    struct fx *split = open_std(TPMCRB_LAYOUT_SPLIT, 1);
    struct fx *five = open_std(TPMCRB_LAYOUT_COMPAT, 5);
    uint32_t regs[TPMCRB_QEMU_NUM_REGS];
    uint8_t buf[TPMCRB_COMPAT_BUFFER_SIZE] = { 0 };
    uint8_t page[2 * PAGE];

    (void)state;
    assert_int_equal(tpmcrb_qemu_state_export(split->dev, regs, buf), -EINVAL);
    expect_error("compat layout");
    qemu_reset_regs(regs, TPMCRB_X86_BASE);
    assert_int_equal(tpmcrb_qemu_state_import(split->dev, regs, buf), -EINVAL);
    /* Locality 2 active: QEMU has locality 0 only. */
    wr(five, 2, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    assert_int_equal(tpmcrb_qemu_state_export(five->dev, regs, buf), -EINVAL);
    expect_error("locality 2");
    wr(five, 2, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    /* A held command cannot go to QEMU. */
    hold_command(five, 0, 1);
    assert_int_equal(tpmcrb_qemu_state_export(five->dev, regs, buf), -EBUSY);
    tpmcrb_device_resume(five->dev);
    expect_response(five, 0, 1, 1);
    /* Imports that make no sense leave the device alone. */
    memcpy(page, tpmcrb_regs_mem(five->dev), 2 * PAGE);
    qemu_reset_regs(regs, TPMCRB_X86_BASE);
    regs[CRB_CTRL_START / 4] = 1;
    assert_int_equal(tpmcrb_qemu_state_import(five->dev, regs, buf), -EINVAL);
    expect_error("locality 0 is not active");
    regs[CRB_LOC_STATE / 4] |= LOC_STATE_ASSIGNED | (7u << 2);
    assert_int_equal(tpmcrb_qemu_state_import(five->dev, regs, buf), -EINVAL);
    expect_error("active locality 7");
    regs[CRB_LOC_STATE / 4] = LOC_STATE_ASSIGNED;
    regs[CRB_CTRL_STS / 4] = CTRL_STS_FATAL;
    assert_int_equal(tpmcrb_qemu_state_import(five->dev, regs, buf), -EINVAL);
    expect_error("fatal");
    assert_memory_equal(page, tpmcrb_regs_mem(five->dev), 2 * PAGE);
    close_fx(split);
    close_fx(five);
}

/* A bad command size in an imported START gets the device's own error
 * response, as a live START would. */
static void qemu_import_bad_size(void **state)
{
    struct fx *b = open_std(TPMCRB_LAYOUT_COMPAT, 1);
    uint32_t regs[TPMCRB_QEMU_NUM_REGS];
    uint8_t buf[TPMCRB_COMPAT_BUFFER_SIZE] = { 0 };
    const uint8_t *rsp = buffer_of(b, 0);

    (void)state;
    qemu_reset_regs(regs, TPMCRB_X86_BASE);
    regs[CRB_LOC_STATE / 4] |= LOC_STATE_ASSIGNED;
    regs[CRB_CTRL_START / 4] = 1;
    counter_command(buf, 1);
    tpm_put_be32(buf + 2, 0xFFFFFF);
    assert_int_equal(tpmcrb_qemu_state_import(b->dev, regs, buf), 0);
    assert_int_equal(tpmcrb_wait_idle(b->dev, 1000), 0);
    assert_int_equal(rd(b, 0, CRB_CTRL_START), 0);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_COMMAND_SIZE);
    assert_int_equal(atomic_load(&b->cb.executed), 0);
    close_fx(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_check_value),
        cmocka_unit_test(roundtrip_split5),
        cmocka_unit_test(roundtrip_compat5),
        cmocka_unit_test(roundtrip_split1),
        cmocka_unit_test(roundtrip_compat1),
        cmocka_unit_test(held_command_completes_after_restore),
        cmocka_unit_test(held_command_carries_reset_establishment),
        cmocka_unit_test(held_command_waits_for_resume),
        cmocka_unit_test(held_command_is_a_private_copy),
        cmocka_unit_test(running_command_is_drained),
        cmocka_unit_test(save_unpaused_waits),
        cmocka_unit_test(pause_holds_start),
        cmocka_unit_test(corrupt_framing),
        cmocka_unit_test(corrupt_content),
        cmocka_unit_test(in_flight_larger_than_layout_buffer),
        cmocka_unit_test(every_byte_and_length),
        cmocka_unit_test(configuration_mismatch),
        cmocka_unit_test(backend_mismatch_and_failure),
        cmocka_unit_test(device_only_snapshot),
        cmocka_unit_test(qemu_roundtrip),
        cmocka_unit_test(qemu_72_reset_state),
        cmocka_unit_test(qemu_import_runs_started_command),
        cmocka_unit_test(qemu_refusals),
        cmocka_unit_test(qemu_import_bad_size),
    };

    tpmcrb_log_set(TPMCRB_LOG_ERROR, capture, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
