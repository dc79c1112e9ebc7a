/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tpm_test_util.h"
#include "core/regs.h"
#include "util/byteorder.h"
#include "util/tpm_cmd.h"

#include <stdlib.h>
#include <string.h>

uint32_t *tt_reg_ptr(struct tpmcrb_device *dev, unsigned loc, uint32_t reg)
{
    return (uint32_t *)((uint8_t *)tpmcrb_regs_mem(dev) +
                        (size_t)loc * TPMCRB_PAGE_SIZE + reg);
}

uint32_t tt_reg_read(struct tpmcrb_device *dev, unsigned loc, uint32_t reg)
{
    /* Atomic: the device's threads store to the page meanwhile. */
    return le32_load_acquire(tt_reg_ptr(dev, loc, reg));
}

void tt_reg_store(struct tpmcrb_device *dev, unsigned loc, uint32_t reg,
                  uint32_t v)
{
    le32_store_release(tt_reg_ptr(dev, loc, reg), v);
}

void tt_reg_write(struct tpmcrb_device *dev, unsigned loc, uint32_t reg,
                  uint32_t v)
{
    assert_int_equal(tpmcrb_write(dev, (uint64_t)loc * TPMCRB_PAGE_SIZE + reg,
                                  4, v), 0);
}

uint8_t *tt_cmd_buffer(struct tpmcrb_device *dev, unsigned loc)
{
    if (tpmcrb_device_config(dev)->layout == TPMCRB_LAYOUT_SPLIT)
        return tpmcrb_buffer_mem(dev);
    return (uint8_t *)tt_reg_ptr(dev, loc, TPMCRB_COMPAT_BUFFER_OFFSET);
}

void tt_request_locality(struct tpmcrb_device *dev, unsigned loc)
{
    tt_reg_write(dev, loc, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    assert_true(tt_reg_read(dev, loc, CRB_LOC_STS) & LOC_STS_GRANTED);
}

void tt_config(struct tpmcrb_config *cfg, enum tpmcrb_layout layout,
               unsigned localities, uint32_t sync_bound_us)
{
    tpmcrb_config_init(cfg);
    cfg->layout = layout;
    cfg->localities = localities;
    cfg->sync_bound_us = sync_bound_us;
}

struct tt_fake_device *tt_fake_device_new(uint32_t bound_us,
                                          uint32_t quick_code)
{
    struct tt_fake_device *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    fake_backend_init(&f->fake);
    f->fake.quick_code = quick_code;
    tt_config(&f->cfg, TPMCRB_LAYOUT_SPLIT, 5, bound_us);
    assert_int_equal(tpmcrb_device_new(&f->cfg, &f->fake.be, &f->dev), 0);
    tt_request_locality(f->dev, 0);
    return f;
}

void tt_fake_device_free(struct tt_fake_device *f)
{
    atomic_store(&f->fake.block, false);
    atomic_store(&f->fake.block_commit, false);
    tpmcrb_device_free(f->dev);
    free(f);
}

void tt_device_open(const char *spec, const struct tpmcrb_backend_options *o,
                    const struct tpmcrb_config *cfg,
                    struct tpmcrb_backend **be, struct tpmcrb_device **dev)
{
    struct tpmcrb_config def;

    if (!cfg) {
        tpmcrb_config_init(&def);
        cfg = &def;
    }
    assert_int_equal(tpmcrb_backend_open(spec, o, be), 0);
    assert_int_equal(tpmcrb_device_new(cfg, *be, dev), 0);
}

uint32_t tt_transmit(struct crb_driver *d, const uint8_t *cmd, uint32_t len,
                     uint8_t *rsp, uint32_t cap, uint32_t *rsp_len)
{
    assert_int_equal(crb_driver_transmit(d, cmd, len, rsp, cap, rsp_len), 0);
    assert_int_equal(tpm_hdr_size(rsp), *rsp_len);
    return tpm_hdr_code(rsp);
}

void tt_check_getrandom(const uint8_t *rsp, uint32_t rsp_len, uint16_t n)
{
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_SUCCESS);
    assert_int_equal(rsp_len, TPM_HEADER_SIZE + 2 + n);
    assert_int_equal(tpm_hdr_size(rsp), rsp_len);
    assert_int_equal(tpm_be16(rsp + TPM_HEADER_SIZE), n);
}

bool tt_power_on(struct tt_backend *t, uint32_t cap)
{
    bool resumed = true;

    assert_int_equal(t->be->ops->power_on(t->be, cap, &resumed), 0);
    return resumed;
}

void tt_power_on_expect(struct tt_backend *t, uint32_t cap, bool resumed)
{
    bool got = !resumed;

    assert_int_equal(t->be->ops->power_on(t->be, cap, &got), 0);
    assert_int_equal(got, resumed);
}

int tt_exec(struct tt_backend *t, unsigned locality, uint32_t len)
{
    return t->be->ops->execute(t->be, locality, t->cmd, len, t->rsp, TT_BUF,
                               &t->rsp_len);
}

uint32_t tt_exec_code(struct tt_backend *t, unsigned locality, uint32_t len)
{
    assert_int_equal(tt_exec(t, locality, len), 0);
    return tpm_hdr_code(t->rsp);
}

uint32_t tt_run(struct tt_backend *t, unsigned locality, uint32_t len)
{
    uint32_t rc = tt_exec_code(t, locality, len);

    assert_int_equal(tpm_hdr_size(t->rsp), t->rsp_len);
    return rc;
}

void tt_backend_close(struct tt_backend *t)
{
    tpmcrb_backend_close(t->be);
    t->be = NULL;
}
