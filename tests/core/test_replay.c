/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replays of what the real clients do (docs/design.md, "The register
 * interface") — Linux tpm_crb,
 * EDK2/OVMF and SeaBIOS — each carrying real TPM commands through the device
 * to the embedded libtpms, in both buffer layouts; then a Linux-style
 * sequence after an EDK2-style one, as at boot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/clock.h"
#include "util/tpm_cmd.h"
#include "tools/cli/crb_driver.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx {
    struct tpmcrb_backend *be;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
};

static struct fx *make(enum tpmcrb_layout layout)
{
    struct fx *f = calloc(1, sizeof(*f));

    tpmcrb_config_init(&f->cfg);
    f->cfg.layout = layout;
    tt_device_open("libtpms", NULL, &f->cfg, &f->be, &f->dev);
    return f;
}

static int setup_split(void **state) { *state = make(TPMCRB_LAYOUT_SPLIT); return 0; }
static int setup_compat(void **state) { *state = make(TPMCRB_LAYOUT_COMPAT); return 0; }

static int teardown(void **state)
{
    struct fx *f = *state;

    tpmcrb_device_free(f->dev);
    tpmcrb_backend_close(f->be);
    free(f);
    return 0;
}

/* ---------------------------------------------- guest-side primitives */

/* Offsets from the window's start: the clients here use locality 0. */
static uint32_t rd32(struct fx *f, uint32_t off)
{
    return tt_reg_read(f->dev, 0, off);
}

static void wr32(struct fx *f, uint32_t off, uint32_t v)
{
    tt_reg_write(f->dev, 0, off, v);
}

/* Poll like a guest: time-bounded, not iteration-bounded, so a loaded
 * host that runs the worker late does not fail the test. */
#define WAIT32_BOUND_NS (20ull * 1000 * 1000 * 1000)

static void wait32(struct fx *f, uint32_t off, uint32_t mask, uint32_t want)
{
    const struct timespec pause = { 0, 20000 };
    uint64_t deadline = crb_now_ns() + WAIT32_BOUND_NS;

    for (unsigned i = 0;; i++) {
        if ((rd32(f, off) & mask) == want)
            return;
        if (crb_now_ns() > deadline)
            break;
        if (i > 1000)
            nanosleep(&pause, NULL);
    }
    fail_msg("register %#x never reached %#x under mask %#x", off, want, mask);
}

/* Guest-physical address to memory: register pages or the buffer page. */
static uint8_t *gpa(struct fx *f, uint64_t addr)
{
    uint64_t off = addr - f->cfg.base, regs = tpmcrb_regs_size(&f->cfg);

    assert_true(addr >= f->cfg.base && off < tpmcrb_window_size(&f->cfg));
    return off < regs ? (uint8_t *)tpmcrb_regs_mem(f->dev) + off
                      : (uint8_t *)tpmcrb_buffer_mem(f->dev) + off - regs;
}

static uint32_t startup_cmd(uint8_t *buf)
{
    return tpm_build_command(buf, 64, TPM_CC_Startup, (const uint8_t *)"\0\0", 2);
}

static uint32_t getrandom_cmd(uint8_t *buf, uint16_t n)
{
    uint8_t p[2] = { (uint8_t)(n >> 8), (uint8_t)n };

    return tpm_build_command(buf, 64, TPM_CC_GetRandom, p, 2);
}

/* ---------------------------------------------- Linux tpm_crb */

static void linux_commands(struct fx *f, bool expect_startup_ok)
{
    struct crb_driver d = { 0 };
    uint8_t cmd[64], rsp[4096];
    uint32_t len, rc;

    assert_int_equal(crb_driver_init(&d, f->dev, 0), 0);
    /* Linux only takes a buffer it can map: the advertised one. */
    assert_int_equal(d.cmd_addr, tpmcrb_buffer_addr(&f->cfg));
    rc = tt_transmit(&d, cmd, startup_cmd(cmd), rsp, sizeof(rsp), &len);
    if (expect_startup_ok)
        assert_int_equal(rc, TPM_RC_SUCCESS);
    else /* firmware already started the TPM */
        assert_int_equal(rc, TPM_RC_INITIALIZE);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(tt_transmit(&d, cmd, getrandom_cmd(cmd, 32), rsp,
                                     sizeof(rsp), &len), TPM_RC_SUCCESS);
        tt_check_getrandom(rsp, len, 32);
    }
    /* Every handshake completed: idle and no locality. */
    assert_int_equal(rd32(f, CRB_LOC_STATE) & ~LOC_STATE_ESTABLISHED, 0x80);
    assert_int_equal(rd32(f, CRB_CTRL_STS), CTRL_STS_IDLE);
}

static void linux_replay(void **state)
{
    linux_commands(*state, true);
}

/* ---------------------------------------------- EDK2 / OVMF (Tpm2Ptp.c) */

static void edk2_command(struct fx *f, const uint8_t *cmd, uint32_t len,
                         uint8_t *rsp)
{
    uint32_t inpage = (uint32_t)f->cfg.base + 0x80;
    uint32_t size;

    /* Locality 0, waiting on LOC_STS.Granted, never relinquished. */
    wr32(f, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    wait32(f, CRB_LOC_STS, LOC_STS_GRANTED, LOC_STS_GRANTED);
    /* Idle bypass is 0: it wants tpmIdle before each command. */
    if (!(rd32(f, CRB_CTRL_STS) & CTRL_STS_IDLE)) {
        wr32(f, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
        wait32(f, CRB_CTRL_STS, CTRL_STS_IDLE, CTRL_STS_IDLE);
    }
    wr32(f, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    wait32(f, CRB_CTRL_REQ, CTRL_REQ_CMD_READY, 0);
    wait32(f, CRB_CTRL_STS, CTRL_STS_IDLE, 0);
    /* Its own buffer choice, every time: base + 0x80. */
    wr32(f, CRB_CMD_HADDR, 0);
    wr32(f, CRB_CMD_LADDR, inpage);
    wr32(f, CRB_CMD_SIZE, 0xF80);
    wr32(f, CRB_RSP_ADDR_LO, inpage);
    wr32(f, CRB_RSP_ADDR_HI, 0);
    wr32(f, CRB_RSP_SIZE, 0xF80);
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(tpmcrb_write(f->dev, 0x80 + i, 1, cmd[i]), 0);
    wr32(f, CRB_CTRL_START, 1);
    wait32(f, CRB_CTRL_START, 1, 0);
    assert_int_equal(rd32(f, CRB_CTRL_STS) & CTRL_STS_FATAL, 0);
    memcpy(rsp, gpa(f, inpage), TPM_HEADER_SIZE);
    size = tpm_hdr_size(rsp);
    assert_in_range(size, TPM_HEADER_SIZE, 0xF80);
    memcpy(rsp, gpa(f, inpage), size);
    wr32(f, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
}

static void edk2_boot(struct fx *f)
{
    uint8_t cmd[64], rsp[4096];

    edk2_command(f, cmd, startup_cmd(cmd), rsp);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_SUCCESS);
    edk2_command(f, cmd, getrandom_cmd(cmd, 16), rsp);
    tt_check_getrandom(rsp, tpm_hdr_size(rsp), 16);
}

static void edk2_replay(void **state)
{
    edk2_boot(*state);
}

static void linux_after_edk2(void **state)
{
    struct fx *f = *state;

    edk2_boot(f);
    /* EDK2 keeps locality 0; Linux requests it too (granted already). */
    linux_commands(f, false);
}

/* ---------------------------------------------- SeaBIOS */

static void seabios_replay(void **state)
{
    struct fx *f = *state;
    uint8_t cmd[64], *buf;
    uint32_t len, addr;

    /* TIS probe first: no TIS DID/VID at 0xF00. */
    assert_true(rd32(f, 0xF00) == 0 || rd32(f, 0xF00) == 0xFFFFFFFF);
    wait32(f, CRB_LOC_STATE, 0x90, 0x80);
    wr32(f, CRB_INTF_ID_LO, 0x00020000);
    wr32(f, CRB_INTF_ID_LO, 0x00080000);
    assert_int_equal(rd32(f, CRB_INTF_ID_LO) & 0xF, INTF_TYPE_CRB);
    assert_true(rd32(f, CRB_INTF_ID_LO) & INTF_CAP_CRB);
    assert_int_equal(rd32(f, CRB_CMD_HADDR), 0);
    assert_int_equal(rd32(f, CRB_RSP_ADDR_HI), 0);
    addr = rd32(f, CRB_CMD_LADDR);
    assert_int_equal(addr, rd32(f, CRB_RSP_ADDR_LO));
    /* A byte write to LOC_CTRL, no wait. */
    assert_int_equal(tpmcrb_write(f->dev, CRB_LOC_CTRL, 1, LOC_CTRL_REQUEST), 0);
    /* The first command goes out while the TPM is idle. */
    assert_int_equal(rd32(f, CRB_CTRL_STS), CTRL_STS_IDLE);
    len = startup_cmd(cmd);
    buf = gpa(f, addr);
    if (f->cfg.layout == TPMCRB_LAYOUT_SPLIT)
        memcpy(buf, cmd, len); /* RAM page: plain stores */
    else
        for (uint32_t i = 0; i < len; i++)
            assert_int_equal(tpmcrb_write(f->dev, addr - f->cfg.base + i, 1, cmd[i]), 0);
    wr32(f, CRB_CTRL_START, 1);
    wait32(f, CRB_CTRL_START, 1, 0);
    assert_int_equal(tpm_hdr_code(buf), TPM_RC_SUCCESS);
    wr32(f, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    wait32(f, CRB_CTRL_REQ, CTRL_REQ_CMD_READY, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(linux_replay, setup_split, teardown),
        cmocka_unit_test_setup_teardown(linux_replay, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(edk2_replay, setup_split, teardown),
        cmocka_unit_test_setup_teardown(edk2_replay, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(seabios_replay, setup_split, teardown),
        cmocka_unit_test_setup_teardown(seabios_replay, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(linux_after_edk2, setup_split, teardown),
        cmocka_unit_test_setup_teardown(linux_after_edk2, setup_compat, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
