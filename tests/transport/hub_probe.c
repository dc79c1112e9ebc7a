/* SPDX-License-Identifier: BSD-3-Clause */
/* A guest that is quiet between its steps: after each quiet spell it makes
 * one step of Linux's tpm_crb sequence and requires the device's answer
 * within Linux's timeout C (200 ms): locality request, cmdReady, goIdle,
 * relinquish, then a whole command. Run against `tpmcrb serve` with or
 * without an idle hub, it checks that a device asleep in its back-off (or
 * handed to the hub) still answers in time.
 * usage: hub-probe FILE OFFSET QUIET_MS */
#include "core/regs.h"
#include "shared_window.h"
#include "util/clock.h"
#include "util/tpm_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TIMEOUT_C_MS 200u

static unsigned quiet_ms;
static int failures;

/* Write @val to @reg after a quiet spell; wait for (@reg & @mask) == @want.
 * Returns the milliseconds the device took. */
static double step(struct crb_driver *d, const char *name, uint32_t reg,
                   uint32_t val, uint32_t wait_reg, uint32_t mask, uint32_t want)
{
    uint64_t t0, deadline;
    double ms;

    usleep(quiet_ms * 1000u);
    t0 = crb_now_ns();
    deadline = t0 + TIMEOUT_C_MS * 1000000ull;
    crb_driver_write32(d, reg, val);
    while ((crb_driver_read32(d, wait_reg) & mask) != want && crb_now_ns() < deadline)
        usleep(20);
    ms = (double)(crb_now_ns() - t0) / 1e6;
    if ((crb_driver_read32(d, wait_reg) & mask) != want) {
        fprintf(stderr, "hub-probe: %s after %u ms quiet: no answer within %u ms\n",
                name, quiet_ms, TIMEOUT_C_MS);
        failures++;
    }
    printf("hub-probe: %s after %u ms quiet answered in %.1f ms\n", name,
           quiet_ms, ms);
    return ms;
}

static int transmit(struct crb_driver *d, uint32_t code, const char *p, uint32_t n)
{
    uint8_t cmd[64], rsp[4096];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), code, (const uint8_t *)p, n);
    uint32_t rlen;
    int err = crb_driver_transmit(d, cmd, len, rsp, sizeof(rsp), &rlen);

    return err < 0 ? err : (int)tpm_hdr_code(rsp);
}

int main(int argc, char **argv)
{
    struct crb_driver d;
    uint64_t t0;
    int rc;

    if (argc != 4)
        return 2;
    quiet_ms = (unsigned)atoi(argv[3]);
    if (shared_window_driver(argv[1], argv[2], &d) < 0)
        return 1;
    /* Every wait of a whole command is bounded by timeout C as well. */
    d.timeout_ms = TIMEOUT_C_MS;
    rc = transmit(&d, TPM_CC_Startup, "\0\0", 2);
    if (rc != 0 && rc != 0x100) {
        fprintf(stderr, "hub-probe: TPM2_Startup: %d\n", rc);
        return 1;
    }
    step(&d, "locality request", CRB_LOC_CTRL, LOC_CTRL_REQUEST, CRB_LOC_STATE,
         LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID, LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID);
    step(&d, "cmdReady", CRB_CTRL_REQ, CTRL_REQ_CMD_READY, CRB_CTRL_REQ,
         CTRL_REQ_CMD_READY, 0);
    step(&d, "goIdle", CRB_CTRL_REQ, CTRL_REQ_GO_IDLE, CRB_CTRL_REQ,
         CTRL_REQ_GO_IDLE, 0);
    step(&d, "relinquish", CRB_LOC_CTRL, LOC_CTRL_RELINQUISH, CRB_LOC_STATE,
         LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID, LOC_STATE_REG_VALID);
    usleep(quiet_ms * 1000u);
    t0 = crb_now_ns();
    rc = transmit(&d, TPM_CC_GetRandom, "\0\x10", 2);
    if (rc != 0) {
        fprintf(stderr, "hub-probe: TPM2_GetRandom after %u ms quiet: %d\n",
                quiet_ms, rc);
        failures++;
    }
    printf("hub-probe: TPM2_GetRandom after %u ms quiet took %.1f ms\n",
           quiet_ms, (double)(crb_now_ns() - t0) / 1e6);
    return failures ? 1 : 0;
}
