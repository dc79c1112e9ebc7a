/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A TPM of a state directory driven from inside the tool: the libtpms
 * backend behind a tpmcrb device, commands sent through the CRB protocol
 * like `tpmcrb pipe` does, with a password session (empty authorisation)
 * where a command needs one. What `tpmcrb setup` uses to manufacture and
 * provision a TPM.
 */
#ifndef TPMCRB_TPM_CLIENT_H
#define TPMCRB_TPM_CLIENT_H

#include "tools/cli/crb_driver.h"
#include "tpmcrb.h"

#include <stdbool.h>
#include <stdint.h>

#define TPM_CLIENT_BUF 4096u

struct tpm_client {
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct crb_driver drv;
    uint8_t cmd[TPM_CLIENT_BUF], rsp[TPM_CLIENT_BUF];
    uint32_t rsp_len;
};

/* Power on the TPM of @state_dir (a new one is manufactured when the
 * directory holds none) and start it with TPM2_Startup(CLEAR) unless it
 * resumed. @fresh_boot ignores saved volatile state. */
int tpm_client_open(struct tpm_client *c, const char *state_dir,
                    bool fresh_boot);
/* Power off: the state is saved to the directory. */
int tpm_client_close(struct tpm_client *c);

/* A growable-by-nothing parameter buffer: writes past the end set
 * overflow, which tpm_client_call() reports. */
struct tpm_buf {
    uint8_t data[TPM_CLIENT_BUF];
    uint32_t len;
    bool overflow;
};

void tb_u8(struct tpm_buf *b, uint8_t v);
void tb_u16(struct tpm_buf *b, uint16_t v);
void tb_u32(struct tpm_buf *b, uint32_t v);
void tb_bytes(struct tpm_buf *b, const void *p, uint32_t n);
/* A TPM2B: u16 size, then the bytes. */
void tb_2b(struct tpm_buf *b, const void *p, uint16_t n);

/* A bounds-checked reader of response parameters. */
struct tpm_rd {
    const uint8_t *p;
    uint32_t len, off;
    bool bad;      /* a read ran past the end */
};

uint8_t rd_u8(struct tpm_rd *r);
uint16_t rd_u16(struct tpm_rd *r);
uint32_t rd_u32(struct tpm_rd *r);
/* A TPM2B: returns its bytes (in the response) and sets *n. */
const uint8_t *rd_2b(struct tpm_rd *r, uint16_t *n);
const uint8_t *rd_bytes(struct tpm_rd *r, uint32_t n);

/*
 * Send command @code with @nh handles and @params. With @auth, one password
 * session with empty authorisation is attached (for the first handle).
 * @rsp_handles: handles the response carries before its parameters (read
 * into *out_handle when non-NULL). On return *rp reads the response
 * parameters. Returns the TPM response code (0: success) or a negative
 * errno when the command could not be carried.
 */
int tpm_client_call(struct tpm_client *c, uint32_t code,
                    const uint32_t *handles, unsigned nh, bool auth,
                    const struct tpm_buf *params, unsigned rsp_handles,
                    uint32_t *out_handle, struct tpm_rd *rp);

#endif
