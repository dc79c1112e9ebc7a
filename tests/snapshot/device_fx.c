/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "device_fx.h"
#include "core/regs.h"
#include "tpm_test_util.h"

#include <stdlib.h>

struct fx *open_bound(enum tpmcrb_layout layout, unsigned nloc,
                      bool with_state, uint64_t base, uint32_t bound)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    counter_backend_init(&f->cb, with_state);
    tt_config(&f->cfg, layout, nloc, bound);
    f->cfg.base = base;
    assert_int_equal(tpmcrb_device_new(&f->cfg, &f->cb.be, &f->dev), 0);
    return f;
}

struct fx *open_std(enum tpmcrb_layout layout, unsigned nloc)
{
    return open_bound(layout, nloc, true, TPMCRB_X86_BASE, 200000);
}

void close_fx(struct fx *f)
{
    atomic_store(&f->cb.block, false);
    tpmcrb_device_free(f->dev);
    free(f);
}

uint32_t rd(struct fx *f, unsigned loc, uint32_t reg)
{
    return tt_reg_read(f->dev, loc, reg);
}

void wr(struct fx *f, unsigned loc, uint32_t reg, uint32_t v)
{
    tt_reg_write(f->dev, loc, reg, v);
}

void start_command(struct fx *f, unsigned loc, uint32_t tag)
{
    tt_request_locality(f->dev, loc);
    wr(f, loc, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    counter_command(tt_cmd_buffer(f->dev, loc), tag);
    wr(f, loc, CRB_CTRL_START, 1);
}

void expect_response(struct fx *f, unsigned loc, uint32_t tag, uint32_t count)
{
    uint32_t t, n;

    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(rd(f, loc, CRB_CTRL_START), 0);
    assert_true(counter_response(tt_cmd_buffer(f->dev, loc), COUNTER_RSP_LEN,
                                 &t, &n));
    assert_int_equal(t, tag);
    assert_int_equal(n, count);
}

void busy_registers(struct fx *f)
{
    unsigned hi = f->cfg.localities - 1;

    start_command(f, 0, 11);
    expect_response(f, 0, 11, 1);
    wr(f, 0, CRB_INT_ENABLE, INT_GLOBAL_ENABLE | INT_START);
    wr(f, 0, CRB_CTRL_CANCEL, 1);
    wr(f, 0, CRB_INTF_ID_LO, INTF_SELECTOR_CRB | INTF_SEL_LOCK);
    if (hi) {
        wr(f, 2, CRB_LOC_CTRL, LOC_CTRL_REQUEST);       /* waits */
        wr(f, hi, CRB_LOC_CTRL, LOC_CTRL_SEIZE);        /* seizes 0 */
        wr(f, hi, CRB_CMD_SIZE, 0x123);
        wr(f, hi, CRB_RSP_ADDR_HI, 0x1);
    }
}
