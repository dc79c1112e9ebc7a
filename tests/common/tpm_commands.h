/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tests' one TPM 2.0 command builder: well-formed commands with no
 * sessions or one password session with an empty password, SHA-256 PCR
 * bank. Each builder writes into @b and returns the command's length; @b
 * must have room (TC_MAX, or 128 bytes for everything but the padded and
 * NV commands). Plus the few response parsers the tests share.
 */
#ifndef TPMCRB_TPM_COMMANDS_H
#define TPMCRB_TPM_COMMANDS_H

#include <stdint.h>

#define TC_MAX            4096u

#define TPM_RS_PW         0x40000009u
#define TPM_RH_OWNER      0x40000001u
#define TPM_RC_LOCALITY   0x907u
#define TPM_CAP_TPM_PROPERTIES 6u
#define TPM_PT_FIXED      0x100u
#define TPM_ALG_SHA256    0x000Bu

/* NV attributes for tc_nv_define(). */
#define TC_NV_OWNER_RW      0x00020002u /* OWNERWRITE | OWNERREAD */
#define TC_NV_OWNER_AUTH_RW 0x00060006u /* ... | AUTHWRITE | AUTHREAD */

/* A command and its length, for tests that pass commands around. */
struct tpm_buf {
    uint8_t data[TC_MAX];
    uint32_t len;
};

uint32_t tc_startup(uint8_t *b, uint16_t type);
uint32_t tc_self_test(uint8_t *b);
uint32_t tc_get_random(uint8_t *b, uint16_t count);
uint32_t tc_get_capability(uint8_t *b, uint32_t cap, uint32_t prop,
                           uint32_t count);
/* SHA-256 bank, the PCRs in @mask (bit n = PCR n, n < 24). */
uint32_t tc_pcr_read(uint8_t *b, uint32_t mask);
/* Extend @pcr's SHA-256 bank with @digest, or with 32 bytes of @fill. */
uint32_t tc_pcr_extend_digest(uint8_t *b, uint32_t pcr,
                              const uint8_t digest[32]);
uint32_t tc_pcr_extend(uint8_t *b, uint32_t pcr, uint8_t fill);
uint32_t tc_pcr_reset(uint8_t *b, uint32_t pcr);
uint32_t tc_hash_sequence_start(uint8_t *b);
/* A TPM2_SequenceUpdate of sequence @handle padded to exactly @total
 * bytes (at most TC_MAX). */
uint32_t tc_sequence_update_padded(uint8_t *b, uint32_t total,
                                   uint32_t handle);
uint32_t tc_flush_context(uint8_t *b, uint32_t handle);
uint32_t tc_create_primary_rsa(uint8_t *b, uint16_t bits);
/* NV under the owner's authorization, index size @size, @attributes. */
uint32_t tc_nv_define(uint8_t *b, uint32_t index, uint16_t size,
                      uint32_t attributes);
uint32_t tc_nv_undefine(uint8_t *b, uint32_t index);
uint32_t tc_nv_write(uint8_t *b, uint32_t index, const uint8_t *data,
                     uint16_t len);
uint32_t tc_nv_read(uint8_t *b, uint32_t index, uint16_t len);

/* The digest of the one PCR in a TPM2_PCR_Read response, or NULL. */
const uint8_t *tc_pcr_read_digest(const uint8_t *rsp, uint32_t len);
/* The data of a TPM2_NV_Read response (sessions tag), or NULL. */
const uint8_t *tc_nv_read_data(const uint8_t *rsp, uint32_t len, uint16_t *n);

#endif
