/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A CRB client that drives a tpmcrb device in the order Linux's tpm_crb
 * driver does: request locality, cmdReady, copy the command, START, poll
 * START, read the response, goIdle, relinquish. Used by `tpmcrb pipe`, the
 * benchmarks and the tests. Reads come from the device memory (ROM-device
 * mode) or through tpmcrb_read() (full-trap mode).
 */
#ifndef TPMCRB_CRB_DRIVER_H
#define TPMCRB_CRB_DRIVER_H

#include "tpmcrb.h"

struct crb_driver {
    struct tpmcrb_device *dev;  /* NULL: memory shared with a device elsewhere */
    uint8_t *regs, *buffer;     /* the device window as the guest sees it */
    struct tpmcrb_config cfg;
    unsigned locality;
    bool full_trap;            /* reads through tpmcrb_read() */
    bool shared_memory;        /* writes are plain stores (poll transport) */
    unsigned timeout_ms;       /* per wait; default 120 s */
    /* Found at probe, as Linux reads them once. */
    uint64_t cmd_addr, rsp_addr;
    uint32_t cmd_size, rsp_size;
    /* Commands sent, and how many had their response at the first status
     * read right after START (what spares a Linux guest its poll sleep). */
    uint64_t sent, ready_at_first_read;
};

/* Probe: read the buffer registers of @locality. Set full_trap or
 * shared_memory before the call; everything else is reset. */
int crb_driver_init(struct crb_driver *d, struct tpmcrb_device *dev,
                    unsigned locality);

/* Probe a device served by another process (`tpmcrb serve`) through its
 * memory: plain loads and stores only. */
int crb_driver_init_shared(struct crb_driver *d, uint8_t *regs,
                           uint8_t *buffer, const struct tpmcrb_config *cfg,
                           unsigned locality);

/* One command through the whole protocol. Returns 0 with the response,
 * -EIO when the device reports tpmSts (fatal), -ETIMEDOUT when a wait ran
 * out, -EMSGSIZE when the command or response does not fit. */
int crb_driver_transmit(struct crb_driver *d, const uint8_t *cmd,
                        uint32_t cmd_len, uint8_t *rsp, uint32_t rsp_cap,
                        uint32_t *rsp_len);

/* Register access helpers (offsets within the locality's page). */
uint32_t crb_driver_read32(struct crb_driver *d, uint32_t reg);
void crb_driver_write32(struct crb_driver *d, uint32_t reg, uint32_t val);

#endif
