/* SPDX-License-Identifier: BSD-3-Clause */
/* A few well-formed TPM 2.0 commands for the soak benchmark and the seed
 * corpus. Each writes into @b (at least 128 bytes) and returns its length. */
#ifndef TPMCRB_TPM_COMMANDS_H
#define TPMCRB_TPM_COMMANDS_H

#include <stdint.h>

#define TPM_RS_PW         0x40000009u
#define TPM_CAP_TPM_PROPERTIES 6u
#define TPM_PT_FIXED      0x100u
#define TPM_ALG_SHA256    0x000Bu

uint32_t tc_startup(uint8_t *b, uint16_t type);
uint32_t tc_self_test(uint8_t *b);
uint32_t tc_get_random(uint8_t *b, uint16_t count);
uint32_t tc_get_capability(uint8_t *b, uint32_t cap, uint32_t prop,
                           uint32_t count);
/* SHA-256 bank, the PCRs in @mask (bit n = PCR n, n < 24). */
uint32_t tc_pcr_read(uint8_t *b, uint32_t mask);
/* Extend @pcr's SHA-256 bank with 32 bytes of @fill, password session. */
uint32_t tc_pcr_extend(uint8_t *b, uint32_t pcr, uint8_t fill);
uint32_t tc_hash_sequence_start(uint8_t *b);
uint32_t tc_flush_context(uint8_t *b, uint32_t handle);

#endif
