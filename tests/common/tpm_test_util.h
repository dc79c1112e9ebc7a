/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the cmocka tests of several areas: the guest's view of
 * the register pages, one TPM command through the CRB protocol, and one
 * command straight to a backend. Each helper asserts what every caller
 * used to assert on its own, so a test reads as the rule it checks.
 */
#ifndef TPMCRB_TPM_TEST_UTIL_H
#define TPMCRB_TPM_TEST_UTIL_H

#include "fake_backend.h"
#include "tools/cli/crb_driver.h"
#include "tpmcrb.h"

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------ the register pages */

/* The dword at @reg of locality @loc's page, where a guest mapping points. */
uint32_t *tt_reg_ptr(struct tpmcrb_device *dev, unsigned loc, uint32_t reg);
/* Read from the page memory (what a ROM-device guest reads): a
 * little-endian dword on every host, returned in host order. */
uint32_t tt_reg_read(struct tpmcrb_device *dev, unsigned loc, uint32_t reg);
/* A guest store of a dword into the page memory (poll mode), little-endian. */
void tt_reg_store(struct tpmcrb_device *dev, unsigned loc, uint32_t reg,
                  uint32_t v);
/* A trapped dword write; the device must accept it. */
void tt_reg_write(struct tpmcrb_device *dev, unsigned loc, uint32_t reg,
                  uint32_t v);
/* Where locality @loc's command goes by default: the buffer page in the
 * split layout, the in-page buffer of its own page in the compat one. */
uint8_t *tt_cmd_buffer(struct tpmcrb_device *dev, unsigned loc);
/* Request locality @loc; it must be granted at once (nobody else holds
 * one in these tests). */
void tt_request_locality(struct tpmcrb_device *dev, unsigned loc);

/* ------------------------------------------------ through the device */

/* Defaults, with the shape the register and snapshot tests vary. */
void tt_config(struct tpmcrb_config *cfg, enum tpmcrb_layout layout,
               unsigned localities, uint32_t sync_bound_us);

/* A device on the fake backend: the split layout with five localities,
 * sync bound @bound_us, the fake's fast path for @quick_code, locality 0
 * granted. Free it with tt_fake_device_free(), which first releases
 * whatever the fake is blocked on. */
struct tt_fake_device {
    struct fake_backend fake;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
};
struct tt_fake_device *tt_fake_device_new(uint32_t bound_us,
                                          uint32_t quick_code);
void tt_fake_device_free(struct tt_fake_device *f);

/* Open backend @spec and a device on it with @cfg (defaults when NULL). */
void tt_device_open(const char *spec, const struct tpmcrb_backend_options *o,
                    const struct tpmcrb_config *cfg,
                    struct tpmcrb_backend **be, struct tpmcrb_device **dev);

/* One command through the CRB protocol: the transfer must succeed and the
 * response must be as long as its header says. Returns the response code. */
uint32_t tt_transmit(struct crb_driver *d, const uint8_t *cmd, uint32_t len,
                     uint8_t *rsp, uint32_t cap, uint32_t *rsp_len);

/* A successful GetRandom response carrying @n bytes. */
void tt_check_getrandom(const uint8_t *rsp, uint32_t rsp_len, uint16_t n);

/* ------------------------------------------------ straight to a backend */

#define TT_BUF 4096u

/* One backend and the buffers of its commands; the command buffer has
 * room past TT_BUF for the oversized commands of the size checks. */
struct tt_backend {
    struct tpmcrb_backend *be;
    uint8_t cmd[TT_BUF + 16], rsp[TT_BUF];
    uint32_t rsp_len;
};

/* power_on with a @cap byte buffer; must succeed. Returns "resumed",
 * which starts out true: assert false on it, or use tt_power_on_expect. */
bool tt_power_on(struct tt_backend *t, uint32_t cap);
/* power_on, which must report @resumed. The flag starts out as the
 * opposite, so a backend that never sets it fails too. */
void tt_power_on_expect(struct tt_backend *t, uint32_t cap, bool resumed);
/* Execute @len bytes of t->cmd; returns what execute() returned. */
int tt_exec(struct tt_backend *t, unsigned locality, uint32_t len);
/* Execute, which must succeed; returns the response code. */
uint32_t tt_exec_code(struct tt_backend *t, unsigned locality, uint32_t len);
/* tt_exec_code, and the response must be as long as its header says. */
uint32_t tt_run(struct tt_backend *t, unsigned locality, uint32_t len);
/* Close the backend (if open) and forget it. */
void tt_backend_close(struct tt_backend *t);

#endif
