/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/crb_driver.h"
#include "util/byteorder.h"
#include "util/clock.h"
#include "util/log.h"
#include "core/regs.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Linux allows minutes for key generation; handshakes answer at once. */
#define DEFAULT_TIMEOUT_MS 120000u

static uint64_t reg_offset(const struct crb_driver *d, uint32_t reg)
{
    return (uint64_t)d->locality * TPMCRB_PAGE_SIZE + reg;
}

uint32_t crb_driver_read32(struct crb_driver *d, uint32_t reg)
{
    uint64_t off = reg_offset(d, reg);

    if (d->full_trap)
        return (uint32_t)tpmcrb_read(d->dev, off, 4);
    return le32_load_acquire((const uint32_t *)(d->regs + off));
}

void crb_driver_write32(struct crb_driver *d, uint32_t reg, uint32_t val)
{
    uint64_t off = reg_offset(d, reg);

    if (d->shared_memory)
        le32_store_release((uint32_t *)(d->regs + off), val);
    else
        tpmcrb_write(d->dev, off, 4, val);
}

/* Spin, then poll: the device answers within microseconds or the command
 * is long (key generation) and a short sleep costs nothing. */
static int wait_reg(struct crb_driver *d, uint32_t reg, uint32_t mask,
                    uint32_t want)
{
    uint64_t start = crb_now_ns();
    uint64_t deadline = start + (uint64_t)d->timeout_ms * 1000000ull;
    unsigned spins = 0;

    while ((crb_driver_read32(d, reg) & mask) != want) {
        uint64_t now = crb_now_ns();

        if (now >= deadline) {
            LOG_ERROR("timeout waiting for %s & %#x == %#x (read %#x)",
                      crb_reg_name(reg), mask, want, crb_driver_read32(d, reg));
            return -ETIMEDOUT;
        }
        if (now - start < 1000000ull) {
            crb_spin_step(&spins);
        } else {
            const struct timespec pause = { 0, 50000 };

            nanosleep(&pause, NULL);
        }
    }
    return 0;
}

/* Guest-physical buffer address to the memory behind it. */
static uint8_t *buffer_ptr(struct crb_driver *d, uint64_t addr, uint32_t len,
                           bool *trapped)
{
    uint64_t regs = tpmcrb_regs_size(&d->cfg), off = addr - d->cfg.base;

    if (addr < d->cfg.base || off + len > tpmcrb_window_size(&d->cfg))
        return NULL;
    *trapped = !d->shared_memory && (d->full_trap || off < regs);
    return off < regs ? d->regs + off : d->buffer + (off - regs);
}

/* Read the buffer registers once, as Linux does at probe. */
static int probe(struct crb_driver *d)
{
    d->timeout_ms = DEFAULT_TIMEOUT_MS;
    d->cmd_addr = ((uint64_t)crb_driver_read32(d, CRB_CMD_HADDR) << 32) |
                  crb_driver_read32(d, CRB_CMD_LADDR);
    d->cmd_size = crb_driver_read32(d, CRB_CMD_SIZE);
    d->rsp_addr = ((uint64_t)crb_driver_read32(d, CRB_RSP_ADDR_HI) << 32) |
                  crb_driver_read32(d, CRB_RSP_ADDR_LO);
    d->rsp_size = crb_driver_read32(d, CRB_RSP_SIZE);
    if (d->cmd_addr == d->rsp_addr && d->cmd_size != d->rsp_size) {
        LOG_ERROR("shared command/response buffer with different sizes");
        return -EINVAL;
    }
    return 0;
}

int crb_driver_init(struct crb_driver *d, struct tpmcrb_device *dev,
                    unsigned locality)
{
    bool full_trap = d->full_trap, shared_memory = d->shared_memory;

    memset(d, 0, sizeof(*d));
    d->dev = dev;
    d->regs = tpmcrb_regs_mem(dev);
    d->buffer = tpmcrb_buffer_mem(dev);
    d->cfg = *tpmcrb_device_config(dev);
    d->locality = locality;
    d->full_trap = full_trap;
    d->shared_memory = shared_memory;
    return probe(d);
}

int crb_driver_init_shared(struct crb_driver *d, uint8_t *regs,
                           uint8_t *buffer, const struct tpmcrb_config *cfg,
                           unsigned locality)
{
    memset(d, 0, sizeof(*d));
    d->regs = regs;
    d->buffer = buffer;
    d->cfg = *cfg;
    d->locality = locality;
    d->shared_memory = true;
    return probe(d);
}

static void copy_in(struct crb_driver *d, uint8_t *dst, bool trapped,
                    const uint8_t *src, uint32_t len)
{
    uint64_t off = d->cmd_addr - d->cfg.base;
    uint32_t i = 0;

    if (!trapped) {
        memcpy(dst, src, len);
        return;
    }
    /* Every store exits: dword writes, as a guest's memcpy_toio does (the
     * value of a dword is its bytes in little-endian order). */
    for (; i + 4 <= len; i += 4)
        tpmcrb_write(d->dev, off + i, 4, get_le32(src + i));
    for (; i < len; i++)
        tpmcrb_write(d->dev, off + i, 1, src[i]);
}

static void copy_out(struct crb_driver *d, uint8_t *dst, const uint8_t *src,
                     uint64_t addr, uint32_t len)
{
    if (!d->full_trap) {
        memcpy(dst, src, len);
        return;
    }
    for (uint32_t i = 0; i < len; i++)
        dst[i] = (uint8_t)tpmcrb_read(d->dev, addr - d->cfg.base + i, 1);
}

static int request_locality(struct crb_driver *d)
{
    crb_driver_write32(d, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    return wait_reg(d, CRB_LOC_STATE, LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID,
                    LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID);
}

static int relinquish_locality(struct crb_driver *d)
{
    crb_driver_write32(d, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    return wait_reg(d, CRB_LOC_STATE, LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID,
                    LOC_STATE_REG_VALID);
}

static int read_response(struct crb_driver *d, uint8_t *rsp, uint32_t cap,
                         uint32_t *rsp_len)
{
    bool trapped;
    const uint8_t *src = buffer_ptr(d, d->rsp_addr, TPM_HEADER_SIZE, &trapped);
    uint32_t len;

    if (!src)
        return -EFAULT;
    copy_out(d, rsp, src, d->rsp_addr, TPM_HEADER_SIZE);
    len = tpm_hdr_size(rsp);
    if (len < TPM_HEADER_SIZE || len > cap || len > d->rsp_size)
        return -EMSGSIZE;
    copy_out(d, rsp + TPM_HEADER_SIZE, src + TPM_HEADER_SIZE,
             d->rsp_addr + TPM_HEADER_SIZE, len - TPM_HEADER_SIZE);
    *rsp_len = len;
    return 0;
}

static int send_and_wait(struct crb_driver *d, const uint8_t *cmd,
                         uint32_t cmd_len)
{
    bool trapped;
    uint8_t *dst = buffer_ptr(d, d->cmd_addr, cmd_len, &trapped);
    int err;

    if (cmd_len > d->cmd_size || !dst)
        return -EMSGSIZE;
    crb_driver_write32(d, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    if ((err = wait_reg(d, CRB_CTRL_REQ, CTRL_REQ_CMD_READY, 0)) < 0)
        return err;
    crb_driver_write32(d, CRB_CTRL_CANCEL, 0);
    copy_in(d, dst, trapped, cmd, cmd_len);
    crb_driver_write32(d, CRB_CTRL_START, 1);
    d->sent++;
    if (!(crb_driver_read32(d, CRB_CTRL_START) & 1))
        d->ready_at_first_read++;
    else if ((err = wait_reg(d, CRB_CTRL_START, 1, 0)) < 0)
        return err;
    if (crb_driver_read32(d, CRB_CTRL_STS) & CTRL_STS_FATAL)
        return -EIO;
    return 0;
}

int crb_driver_transmit(struct crb_driver *d, const uint8_t *cmd,
                        uint32_t cmd_len, uint8_t *rsp, uint32_t rsp_cap,
                        uint32_t *rsp_len)
{
    int err, err2;

    if ((err = request_locality(d)) < 0)
        return err;
    err = send_and_wait(d, cmd, cmd_len);
    if (!err)
        err = read_response(d, rsp, rsp_cap, rsp_len);
    crb_driver_write32(d, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    err2 = wait_reg(d, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE, 0);
    if (!err)
        err = err2;
    err2 = relinquish_locality(d);
    return err ? err : err2;
}
