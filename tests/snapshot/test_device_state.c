/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * struct tpmcrb_device_state (tpmcrb_device_state_export/import): round
 * trips for every configuration, a held command with a pending
 * resetEstablishment, the buffers beside the struct or left to the VMM,
 * and hostile input: each bad field refused with its own message and the
 * device unchanged, every byte of the struct damaged without a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "device_fx.h"
#include "test_files.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE
#define ST_SIZE sizeof(struct tpmcrb_device_state)

/* Log capture restarted (cleared) before each call whose message counts. */
static void expect_error(const char *needle)
{
    if (!strstr(log_captured(), needle))
        fail_msg("expected an error containing '%s', got '%s'", needle,
                 log_captured());
}

/* ------------------------------------------------------------ fixtures */

static struct fx *open_fx(enum tpmcrb_layout layout, unsigned nloc,
                          uint32_t bound)
{
    return open_bound(layout, nloc, true, TPMCRB_X86_BASE, bound);
}

static size_t buffers_len(struct fx *f)
{
    return tpmcrb_state_buffers_size(&f->cfg);
}

/* The state and buffers of @f; the caller frees *buffers. */
static void export(struct fx *f, struct tpmcrb_device_state *st,
                   uint8_t **buffers)
{
    *st = (struct tpmcrb_device_state)TPMCRB_DEVICE_STATE_INIT;
    *buffers = malloc(buffers_len(f));
    assert_non_null(*buffers);
    assert_int_equal(tpmcrb_device_state_export(f->dev, st, *buffers,
                                                buffers_len(f)), 0);
}

/* Every kind of register state a guest can leave behind, and buffer
 * contents in every buffer. */
static void busy_guest(struct fx *f)
{
    busy_registers(f);
    for (unsigned i = 0; i < f->cfg.localities; i++)
        memset(tt_cmd_buffer(f->dev, i) + 0x400, 0x40 + i, 16);
}

/* Every register of every locality page, as the guest reads them. */
static void assert_same_registers(struct fx *a, struct fx *b)
{
    for (unsigned i = 0; i < a->cfg.localities; i++)
        for (uint32_t reg = 0; reg < CRB_REGS_END; reg += 4)
            if (rd(a, i, reg) != rd(b, i, reg))
                fail_msg("locality %u %s: %#x on the source, %#x restored",
                         i, crb_reg_name(reg), rd(a, i, reg), rd(b, i, reg));
}

/* ------------------------------------------------------------ round trips */

static void roundtrip(enum tpmcrb_layout layout, unsigned nloc)
{
    struct fx *a = open_std(layout, nloc), *b = open_std(layout, nloc);
    struct tpmcrb_device_state st, st2;
    uint8_t *bufs, *bufs2;

    busy_guest(a);
    export(a, &st, &bufs);
    assert_int_equal(st.localities, nloc);
    assert_int_equal(st.layout, layout);
    assert_false(st.cmd_held);
    assert_int_equal(tpmcrb_device_state_import(b->dev, &st, bufs,
                                                buffers_len(b)), 0);
    export(b, &st2, &bufs2);
    assert_memory_equal(&st, &st2, ST_SIZE);
    assert_memory_equal(bufs, bufs2, buffers_len(a));
    assert_same_registers(a, b);
    for (unsigned i = 0; i < nloc; i++)
        assert_memory_equal(tt_cmd_buffer(a->dev, i),
                            tt_cmd_buffer(b->dev, i),
                            tpmcrb_buffer_size(&a->cfg));
    /* The backend's state was not part of it. */
    assert_int_equal(atomic_load(&b->cb.count), 0);
    if (nloc == 1) {
        /* Locality 0 is still active: the restored device carries on. */
        wr(b, 0, CRB_CTRL_START, 1);
        expect_response(b, 0, 11, 1);
    } else {
        assert_int_equal(st.active_locality, (int32_t)nloc - 1);
        assert_true(st.loc_seized[0]);
        assert_true(st.loc_requesting[2]);
        assert_int_equal(st.loc_cmd_size[nloc - 1], 0x123);
    }
    free(bufs);
    free(bufs2);
    close_fx(a);
    close_fx(b);
}

static void roundtrip_split5(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_SPLIT, 5); }
static void roundtrip_compat5(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_COMPAT, 5); }
static void roundtrip_split1(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_SPLIT, 1); }
static void roundtrip_compat1(void **s) { (void)s; roundtrip(TPMCRB_LAYOUT_COMPAT, 1); }

static void buffers_size(void **state)
{
    struct tpmcrb_config cfg;

    (void)state;
    tt_config(&cfg, TPMCRB_LAYOUT_COMPAT, 1, 0);
    assert_int_equal(tpmcrb_state_buffers_size(&cfg),
                     TPMCRB_COMPAT_BUFFER_SIZE);
    tt_config(&cfg, TPMCRB_LAYOUT_COMPAT, 5, 0);
    assert_int_equal(tpmcrb_state_buffers_size(&cfg),
                     5 * TPMCRB_COMPAT_BUFFER_SIZE);
    tt_config(&cfg, TPMCRB_LAYOUT_SPLIT, 5, 0);
    assert_int_equal(tpmcrb_state_buffers_size(&cfg),
                     TPMCRB_SPLIT_BUFFER_SIZE);
}

/* Without buffers the VMM migrates that memory itself: import leaves the
 * destination's buffers as they are. */
static void without_buffers(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *b = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct tpmcrb_device_state st = TPMCRB_DEVICE_STATE_INIT;
    uint8_t *buf_b = tpmcrb_buffer_mem(b->dev);

    (void)state;
    busy_guest(a);
    memset(buf_b, 0x77, PAGE);
    assert_int_equal(tpmcrb_device_state_export(a->dev, &st, NULL, 0), 0);
    assert_int_equal(tpmcrb_device_state_import(b->dev, &st, NULL, 0), 0);
    assert_int_equal(buf_b[0], 0x77);
    assert_int_equal(buf_b[PAGE - 1], 0x77);
    assert_int_equal(rd(b, 4, CRB_CMD_SIZE), 0x123);
    close_fx(a);
    close_fx(b);
}

/* A struct from a newer header: the tail is zeroed on export; on import
 * a zero tail is fine and anything else refused. */
static void struct_sizes(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_COMPAT, 1);
    unsigned char *big = malloc(ST_SIZE + 64);
    struct tpmcrb_device_state *st = (struct tpmcrb_device_state *)big;

    (void)state;
    memset(big, 0xEE, ST_SIZE + 64);
    st->size = ST_SIZE + 64;
    assert_int_equal(tpmcrb_device_state_export(a->dev, st, NULL, 0), 0);
    for (size_t i = ST_SIZE; i < ST_SIZE + 64; i++)
        assert_int_equal(big[i], 0);
    assert_int_equal(tpmcrb_device_state_import(a->dev, st, NULL, 0), 0);
    big[ST_SIZE + 3] = 1;
    log_capture_start();
    assert_int_equal(tpmcrb_device_state_import(a->dev, st, NULL, 0), -EINVAL);
    expect_error("does not have");
    st->size = 4;
    assert_int_equal(tpmcrb_device_state_export(a->dev, st, NULL, 0), -EINVAL);
    assert_int_equal(tpmcrb_device_state_import(a->dev, st, NULL, 0), -EINVAL);
    assert_int_equal(tpmcrb_device_state_export(NULL, st, NULL, 0), -EINVAL);
    assert_int_equal(tpmcrb_device_state_export(a->dev, NULL, NULL, 0), -EINVAL);
    assert_int_equal(tpmcrb_device_state_import(a->dev, NULL, NULL, 0), -EINVAL);
    free(big);
    close_fx(a);
}

/* ------------------------------------------------------------ in flight */

/* START written while paused: held, it travels in the struct and runs on
 * the destination once resumed; a resetEstablishment from locality 4
 * written meanwhile reaches the destination's backend. */
static void held_command(void **state)
{
    struct fx *a = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct fx *b = open_std(TPMCRB_LAYOUT_SPLIT, 5);
    struct tpmcrb_device_state st;
    uint8_t *bufs;

    (void)state;
    assert_int_equal(tpmcrb_device_pause(a->dev, 1000), 0);
    start_command(a, 4, 21);
    wr(a, 4, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    /* The guest rewrites its buffer: the held copy is what travels. */
    counter_command(tt_cmd_buffer(a->dev, 4), 99);
    export(a, &st, &bufs);
    assert_true(st.cmd_held);
    assert_int_equal(st.cmd_locality, 4);
    assert_int_equal(st.cmd_len, 14);
    assert_int_equal(st.cmd_reset_established, 5);
    assert_int_equal(st.loc_start[4], 1);

    assert_int_equal(tpmcrb_device_pause(b->dev, 1000), 0);
    assert_int_equal(tpmcrb_device_state_import(b->dev, &st, bufs,
                                                buffers_len(b)), 0);
    assert_int_equal(rd(b, 4, CRB_CTRL_START), 1);
    assert_int_equal(atomic_load(&b->cb.executed), 0);
    /* The guest cleared tpmEstablished; its backend hears of it when the
     * command completes, and the guest reads it cleared meanwhile. */
    assert_true(b->cb.established);
    assert_int_equal(rd(b, 4, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED, 0);
    tpmcrb_device_resume(b->dev);
    expect_response(b, 4, 21, 1);
    assert_false(b->cb.established);
    assert_int_equal(atomic_load(&b->cb.executed), 1);
    assert_int_equal(atomic_load(&a->cb.executed), 0);
    free(bufs);
    close_fx(a);
    close_fx(b);
}

/* A command the backend is running is not state: export waits for it,
 * and refuses while it still runs. */
static void running_command_refused(void **state)
{
    struct fx *a = open_fx(TPMCRB_LAYOUT_COMPAT, 1, 0);
    struct tpmcrb_device_state st = TPMCRB_DEVICE_STATE_INIT;

    (void)state;
    atomic_store(&a->cb.block, true);
    start_command(a, 0, 9);
    assert_true(tpmcrb_busy(a->dev));
    assert_int_equal(tpmcrb_device_pause(a->dev, 20), -ETIMEDOUT);
    log_capture_start();
    assert_int_equal(tpmcrb_device_state_export(a->dev, &st, NULL, 0), -EBUSY);
    expect_error("still running");
    atomic_store(&a->cb.block, false);
    assert_int_equal(tpmcrb_device_pause(a->dev, 5000), 0);
    assert_int_equal(tpmcrb_device_state_export(a->dev, &st, NULL, 0), 0);
    assert_false(st.cmd_held);
    assert_int_equal(st.loc_start[0], 0);
    close_fx(a);
}

/* ------------------------------------------------------------ hostile */

struct bad_fx {
    struct fx *src, *dst;
    struct tpmcrb_device_state good, before;
    uint8_t *bufs, *bufs_before;
};

/* A held command on the source (cmd fields in use); the destination has
 * run a command of its own, so that "unchanged" is not its reset state. */
static struct bad_fx *bad_setup(enum tpmcrb_layout layout, unsigned nloc)
{
    struct bad_fx *c = calloc(1, sizeof(*c));

    c->src = open_std(layout, nloc);
    c->dst = open_std(layout, nloc);
    busy_guest(c->src);
    assert_int_equal(tpmcrb_device_pause(c->src->dev, 1000), 0);
    start_command(c->src, nloc - 1, 8);
    export(c->src, &c->good, &c->bufs);
    start_command(c->dst, 0, 2);
    expect_response(c->dst, 0, 2, 1);
    export(c->dst, &c->before, &c->bufs_before);
    /* An accepted state's held command stays held. */
    assert_int_equal(tpmcrb_device_pause(c->dst->dev, 1000), 0);
    return c;
}

static void bad_teardown(struct bad_fx *c)
{
    free(c->bufs);
    free(c->bufs_before);
    close_fx(c->src);
    close_fx(c->dst);
    free(c);
}

static void assert_unchanged(struct bad_fx *c)
{
    struct tpmcrb_device_state now;
    uint8_t *bufs;

    export(c->dst, &now, &bufs);
    assert_memory_equal(&c->before, &now, ST_SIZE);
    assert_memory_equal(c->bufs_before, bufs, buffers_len(c->dst));
    assert_int_equal(atomic_load(&c->dst->cb.executed), 1);
    free(bufs);
}

static void refused(struct bad_fx *c, const struct tpmcrb_device_state *st,
                    int err, const char *msg)
{
    log_capture_start();
    assert_int_equal(tpmcrb_device_state_import(c->dst->dev, st, c->bufs,
                                                buffers_len(c->dst)), err);
    expect_error(msg);
    assert_unchanged(c);
}

/* A bool member set to a byte that is no bool. */
static void set_byte(void *member, unsigned char v)
{
    memcpy(member, &v, 1);
}

static void bad_fields_split5(void **state)
{
    struct bad_fx *c = bad_setup(TPMCRB_LAYOUT_SPLIT, 5);
    struct tpmcrb_device_state s;

    (void)state;
    /* The good one is accepted (on a device of its own configuration). */
#define MUTATE(stmt, err, msg) \
    do { s = c->good; stmt; refused(c, &s, err, msg); } while (0)
    MUTATE(s.layout = 7, -EBADMSG, "layout is not a layout");
    MUTATE(s.localities = 3, -EBADMSG, "configuration");
    MUTATE(s.base = 0x1234, -EBADMSG, "configuration");
    MUTATE(s.base = 0xFED50000ull, -EINVAL, "configuration mismatch");
    MUTATE(s.layout = TPMCRB_LAYOUT_COMPAT, -EINVAL, "configuration mismatch");
    MUTATE(s.active_locality = 5, -EBADMSG, "active locality out of range");
    MUTATE(s.active_locality = -2, -EBADMSG, "active locality out of range");
    MUTATE(set_byte(&s.idle, 2), -EBADMSG, "idle is neither");
    MUTATE(set_byte(&s.fatal, 0xFF), -EBADMSG, "fatal is neither");
    MUTATE(set_byte(&s.cmd_held, 3), -EBADMSG, "cmd_held is neither");
    MUTATE(set_byte(&s.loc_seized[3], 2), -EBADMSG,
           "loc_seized[3] is neither");
    MUTATE(set_byte(&s.loc_requesting[1], 9), -EBADMSG,
           "loc_requesting[1] is neither");
    MUTATE(s.intf_sel = 0, -EBADMSG, "interface selector is not CRB");
    MUTATE(s.intf_sel |= 1u << 3, -EBADMSG, "interface selector is not CRB");
    MUTATE(s.loc_int_sts[0] = 0x100, -EBADMSG, "INT_STS has bits outside");
    MUTATE(s.loc_int_enable[2] = 0x10, -EBADMSG,
           "INT_ENABLE has bits outside");
    MUTATE(s.loc_cancel[1] = 2, -EBADMSG, "CTRL_CANCEL has bits outside");
    MUTATE(s.loc_start[1] = 1, -EBADMSG,
           "CTRL_START does not match the command in flight");
    MUTATE(s.loc_start[4] = 0, -EBADMSG,
           "CTRL_START does not match the command in flight");
    MUTATE((s.cmd_held = false, s.loc_start[4] = 0), -EBADMSG,
           "a command without a command in flight");
    MUTATE(s.cmd_locality = 7, -EBADMSG, "from a locality the device lacks");
    MUTATE(s.cmd_len = 5, -EBADMSG, "impossible length");
    MUTATE(s.cmd_len = PAGE + 1, -EBADMSG, "impossible length");
    MUTATE(s.cmd_len = 20, -EBADMSG, "disagrees with its header size");
    MUTATE(s.cmd_reset_established = 2, -EBADMSG, "cannot write it");
    MUTATE(s.cmd_reset_established = 6, -EBADMSG, "cannot write it");
#undef MUTATE
    log_capture_start();
    assert_int_equal(tpmcrb_device_state_import(c->dst->dev, &c->good, c->bufs,
                                                buffers_len(c->dst) - 1),
                     -EINVAL);
    expect_error("bytes of buffers");
    assert_unchanged(c);
    assert_int_equal(tpmcrb_device_state_import(c->dst->dev, &c->good, c->bufs,
                                                buffers_len(c->dst)), 0);
    bad_teardown(c);
}

/* One locality: entries past it must be zero; the compat layout's buffer
 * bounds a held command. */
static void bad_fields_compat1(void **state)
{
    struct bad_fx *c = bad_setup(TPMCRB_LAYOUT_COMPAT, 1);
    struct tpmcrb_device_state s;
    uint32_t big = TPMCRB_COMPAT_BUFFER_SIZE + 4;

    (void)state;
    s = c->good;
    s.loc_cmd_size[1] = 1;
    refused(c, &s, -EBADMSG, "loc_cmd_size[1] is set on a device with 1 "
            "locality");
    s = c->good;
    s.loc_rsp_addr[4] = 1;
    refused(c, &s, -EBADMSG, "loc_rsp_addr[4] is set");
    s = c->good;
    s.loc_seized[2] = true;
    refused(c, &s, -EBADMSG, "loc_seized[2] is set");
    s = c->good;
    s.cmd_locality = 1;
    refused(c, &s, -EBADMSG, "from a locality the device lacks");
    s = c->good;
    s.cmd_len = big;
    s.cmd[2] = 0;
    s.cmd[3] = 0;
    s.cmd[4] = (uint8_t)(big >> 8);
    s.cmd[5] = (uint8_t)big;
    refused(c, &s, -EBADMSG, "larger than the layout's buffer");
    s = c->good;
    s.cmd_reset_established = 4;
    refused(c, &s, -EBADMSG, "cannot write it");
    bad_teardown(c);
}

/* Every byte of the struct damaged in turn: import accepts it or refuses
 * it, never crashes, and a refusal changes nothing. An accepted one must
 * export as a state import accepts again. */
static void every_byte(void **state)
{
    struct bad_fx *c = bad_setup(TPMCRB_LAYOUT_COMPAT, 5);
    static const unsigned char values[] = { 0x01, 0x80, 0xFF };
    unsigned accepted = 0, refusals = 0;

    (void)state;
    for (size_t off = sizeof(uint32_t); off < ST_SIZE; off++) {
        /* The command bytes past its length are not state. */
        if (off >= offsetof(struct tpmcrb_device_state, cmd) + c->good.cmd_len)
            break;
        for (size_t k = 0; k < sizeof(values); k++) {
            struct tpmcrb_device_state s = c->good;
            unsigned char *p = (unsigned char *)&s;
            int err;

            p[off] ^= values[k];
            err = tpmcrb_device_state_import(c->dst->dev, &s, c->bufs,
                                             buffers_len(c->dst));
            if (err < 0) {
                assert_true(err == -EBADMSG || err == -EINVAL);
                refusals++;
                continue;
            }
            accepted++;
            {
                struct tpmcrb_device_state again;
                uint8_t *bufs;

                export(c->dst, &again, &bufs);
                assert_int_equal(tpmcrb_device_state_import(
                                     c->dst->dev, &again, bufs,
                                     buffers_len(c->dst)), 0);
                free(bufs);
            }
            /* Back to the destination's own state for the next one. */
            assert_int_equal(tpmcrb_device_state_import(
                                 c->dst->dev, &c->before, c->bufs_before,
                                 buffers_len(c->dst)), 0);
        }
    }
    assert_unchanged(c);
    /* Both outcomes were reached: the loop tested something. */
    assert_true(accepted > 0);
    assert_true(refusals > 0);
    bad_teardown(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_split5),
        cmocka_unit_test(roundtrip_compat5),
        cmocka_unit_test(roundtrip_split1),
        cmocka_unit_test(roundtrip_compat1),
        cmocka_unit_test(buffers_size),
        cmocka_unit_test(without_buffers),
        cmocka_unit_test(struct_sizes),
        cmocka_unit_test(held_command),
        cmocka_unit_test(running_command_refused),
        cmocka_unit_test(bad_fields_split5),
        cmocka_unit_test(bad_fields_compat1),
        cmocka_unit_test(every_byte),
    };

    log_capture_start();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
