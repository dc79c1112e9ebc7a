/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TPM command headers and buffer registers, through START, to the embedded
 * libtpms (the counter backend when libtpms cannot be opened). The first
 * byte picks the locality and whether the guest also writes the buffer
 * registers (as EDK2 does) from the next 16 bytes; the rest is the
 * command. Each input starts from the same TPM state (a snapshot taken
 * after TPM2_Startup), so a crash reproduces. The device must finish
 * every START with a well-formed response, never read or write outside
 * its buffers, and never report a fatal error (libtpms answers nonsense
 * with TPM error codes).
 */
#include "fuzz_common.h"
#include "counter_backend.h"
#include "core/regs.h"
#include "util/byteorder.h"
#include "util/tpm_cmd.h"

#include <stdlib.h>
#include <string.h>

#define PAGE TPMCRB_PAGE_SIZE

static struct tpmcrb_backend *backend;
static struct counter_backend fallback;
static struct tpmcrb_device *dev;
static struct tpmcrb_config cfg;
static uint8_t *baseline;
static size_t baseline_len;

static uint32_t rd(unsigned loc, uint32_t reg)
{
    uint32_t v;

    memcpy(&v, (uint8_t *)tpmcrb_regs_mem(dev) + loc * PAGE + reg, 4);
    return le32_to_host(v);
}

static void wr(unsigned loc, uint32_t reg, uint32_t v)
{
    tpmcrb_write(dev, (uint64_t)loc * PAGE + reg, 4, v);
}

/* Where the device takes a buffer address to be (core/crb.c rules). */
static uint8_t *buffer_at(uint64_t addr, uint32_t size, uint32_t *cap)
{
    uint64_t regs = tpmcrb_regs_size(&cfg), off = addr - cfg.base;

    if (addr == cfg.base + regs) {
        *cap = size < PAGE ? size : PAGE;
        return tpmcrb_buffer_mem(dev);
    }
    if (addr >= cfg.base && off < regs && off % PAGE == CRB_DATA_BUFFER) {
        *cap = size < TPMCRB_COMPAT_BUFFER_SIZE ? size : TPMCRB_COMPAT_BUFFER_SIZE;
        return (uint8_t *)tpmcrb_regs_mem(dev) + off;
    }
    *cap = PAGE;
    return tpmcrb_buffer_mem(dev);
}

/* Firmware-style buffer registers: a device buffer or anything at all. */
static uint64_t pick_addr(uint32_t choice, unsigned loc)
{
    switch (choice % 4) {
    case 0: return cfg.base + tpmcrb_regs_size(&cfg);
    case 1: return cfg.base + (uint64_t)(choice >> 8) % cfg.localities * PAGE +
                   CRB_DATA_BUFFER;
    case 2: return cfg.base + (uint64_t)loc * PAGE + CRB_DATA_BUFFER;
    default: return choice;
    }
}

static void send_startup(void)
{
    uint8_t *buf = tpmcrb_buffer_mem(dev);
    const uint8_t su[2] = { 0, TPM_SU_CLEAR };

    wr(0, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    tpm_build_command(buf, PAGE, TPM_CC_Startup, su, 2);
    wr(0, CRB_CTRL_START, 1);
    FUZZ_CHECK(tpmcrb_wait_idle(dev, 10000) == 0);
    wr(0, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
}

static void init(void)
{
    const struct tpmcrb_backend_options opts = { .size = sizeof(opts) };

    if (tpmcrb_backend_open("libtpms", &opts, &backend) < 0) {
        counter_backend_init(&fallback, true);
        backend = &fallback.be;
    }
    tpmcrb_config_init(&cfg);
    cfg.sync_bound_us = 10000000;
    FUZZ_CHECK(tpmcrb_device_new(&cfg, backend, &dev) == 0);
    send_startup();
    FUZZ_CHECK(tpmcrb_snapshot_save(dev, &baseline, &baseline_len) == 0);
}

static void set_buffers(struct fuzz_in *in, unsigned loc)
{
    uint64_t cmd = pick_addr(fuzz_u32(in), loc);
    uint64_t rsp = pick_addr(fuzz_u32(in), loc);

    wr(loc, CRB_CMD_SIZE, fuzz_u32(in));
    wr(loc, CRB_CMD_LADDR, (uint32_t)cmd);
    wr(loc, CRB_CMD_HADDR, (uint32_t)(cmd >> 32));
    wr(loc, CRB_RSP_SIZE, fuzz_u32(in));
    wr(loc, CRB_RSP_ADDR_LO, (uint32_t)rsp);
    wr(loc, CRB_RSP_ADDR_HI, (uint32_t)(rsp >> 32));
}

/* The guest's copy: RAM stores, or trapped writes in the register page. */
static void copy_command(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    uint8_t *regs = tpmcrb_regs_mem(dev);

    if (dst == tpmcrb_buffer_mem(dev)) {
        memcpy(dst, src, len);
        return;
    }
    for (uint32_t i = 0; i < len; i++)
        tpmcrb_write(dev, (uint64_t)(dst - regs) + i, 1, src[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size, 0 };
    uint8_t flags = fuzz_u8(&in);
    unsigned loc = flags % TPMCRB_MAX_LOCALITIES;
    uint32_t cmd_cap, rsp_cap, len;
    uint8_t *cmd, *rsp;

    fuzz_quiet_log();
    if (!dev)
        init();
    FUZZ_CHECK(tpmcrb_snapshot_load(dev, baseline, baseline_len) == 0);
    wr(loc, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    wr(loc, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    if (flags & 0x08)
        set_buffers(&in, loc);
    cmd = buffer_at((uint64_t)rd(loc, CRB_CMD_HADDR) << 32 | rd(loc, CRB_CMD_LADDR),
                    rd(loc, CRB_CMD_SIZE), &cmd_cap);
    rsp = buffer_at((uint64_t)rd(loc, CRB_RSP_ADDR_HI) << 32 |
                    rd(loc, CRB_RSP_ADDR_LO), rd(loc, CRB_RSP_SIZE), &rsp_cap);
    len = (uint32_t)(fuzz_left(&in) < PAGE ? fuzz_left(&in) : PAGE);
    copy_command(cmd, data + in.off, len < cmd_cap ? len : cmd_cap);
    wr(loc, CRB_CTRL_START, 1);
    FUZZ_CHECK(tpmcrb_wait_idle(dev, 60000) == 0);
    FUZZ_CHECK(rd(loc, CRB_CTRL_START) == 0);
    FUZZ_CHECK(!(rd(loc, CRB_CTRL_STS) & CTRL_STS_FATAL));
    if (rsp_cap >= TPM_HEADER_SIZE && cmd_cap >= TPM_HEADER_SIZE) {
        uint32_t n = tpm_hdr_size(rsp);

        FUZZ_CHECK(n >= TPM_HEADER_SIZE && n <= rsp_cap);
    }
    wr(loc, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    wr(loc, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    return 0;
}
