/* SPDX-License-Identifier: BSD-3-Clause */
/* Hand-built TPM 2.0 commands for the conformance suite (password sessions
 * with empty auth, SHA-256 PCR bank). Each builder returns the length. */
#ifndef TPMCRB_TPM_SEQ_H
#define TPMCRB_TPM_SEQ_H

#include <stdint.h>

#define TPM_RH_OWNER 0x40000001u
#define TPM_RC_LOCALITY 0x907u
#define TPM_ALG_SHA256 0x000Bu

struct tpm_buf {
    uint8_t data[4096];
    uint32_t len;
};

void seq_startup(struct tpm_buf *b, uint16_t type);
void seq_getrandom(struct tpm_buf *b, uint16_t n);
void seq_pcr_extend(struct tpm_buf *b, uint32_t pcr, const uint8_t digest[32]);
void seq_pcr_reset(struct tpm_buf *b, uint32_t pcr);
void seq_pcr_read(struct tpm_buf *b, uint32_t pcr);
void seq_nv_define(struct tpm_buf *b, uint32_t index, uint16_t size);
void seq_nv_undefine(struct tpm_buf *b, uint32_t index);
void seq_nv_write(struct tpm_buf *b, uint32_t index, const uint8_t *data,
                  uint16_t len);
void seq_nv_read(struct tpm_buf *b, uint32_t index, uint16_t len);
void seq_create_primary_rsa(struct tpm_buf *b, uint16_t bits);
void seq_flush(struct tpm_buf *b, uint32_t handle);
/* A TPM2_SequenceUpdate of sequence @handle padded to exactly @total bytes. */
void seq_big(struct tpm_buf *b, uint32_t total, uint32_t handle);

/* The digest of PCR @pcr in a TPM2_PCR_Read response, or NULL. */
const uint8_t *seq_pcr_read_digest(const uint8_t *rsp, uint32_t len);
/* The data of a TPM2_NV_Read response (sessions tag), or NULL. */
const uint8_t *seq_nv_read_data(const uint8_t *rsp, uint32_t len, uint16_t *n);

#endif
