/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 command/response framing: header fields, error responses, names. */
#ifndef TPMCRB_TPM_CMD_H
#define TPMCRB_TPM_CMD_H

#include <stddef.h>
#include <stdint.h>

#define TPM_HEADER_SIZE 10u

#define TPM_ST_NO_SESSIONS 0x8001u
#define TPM_ST_SESSIONS    0x8002u

/* Response codes the device itself produces or reacts to. */
#define TPM_RC_SUCCESS      0x000u
#define TPM_RC_HANDLE       0x08Bu
#define TPM_RC_INITIALIZE   0x100u
#define TPM_RC_FAILURE      0x101u
#define TPM_RC_COMMAND_SIZE 0x142u
#define TPM_RC_COMMAND_CODE 0x143u
#define TPM_RC_CANCELED     0x909u
#define TPM_RC_RETRY        0x922u

/* Command codes used by the tools and the trace. */
#define TPM_CC_NV_UndefineSpaceSpecial 0x11Fu
#define TPM_CC_CreatePrimary    0x131u
#define TPM_CC_NV_DefineSpace   0x12Au
#define TPM_CC_Startup          0x144u
#define TPM_CC_Shutdown         0x145u
#define TPM_CC_NV_Read          0x14Eu
#define TPM_CC_ContextLoad      0x161u
#define TPM_CC_ContextSave      0x162u
#define TPM_CC_FlushContext     0x165u
#define TPM_CC_Load             0x157u
#define TPM_CC_LoadExternal     0x167u
#define TPM_CC_StartAuthSession 0x176u
#define TPM_CC_GetCapability    0x17Au
#define TPM_CC_GetRandom        0x17Bu
#define TPM_CC_PCR_Read         0x17Eu
#define TPM_CC_PCR_Extend       0x182u
#define TPM_CC_HashSequenceStart 0x186u
#define TPM_CC_CreateLoaded     0x191u

#define TPM_SU_CLEAR 0x0000u
#define TPM_SU_STATE 0x0001u

static inline uint16_t tpm_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t tpm_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static inline void tpm_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void tpm_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Header fields; the caller guarantees TPM_HEADER_SIZE bytes. */
static inline uint32_t tpm_hdr_size(const uint8_t *p) { return tpm_be32(p + 2); }
static inline uint32_t tpm_hdr_code(const uint8_t *p) { return tpm_be32(p + 6); }

/* Write a 10-byte error response with @rc; returns its length. */
uint32_t tpm_error_response(uint8_t *buf, uint32_t rc);

/* Build a command with no sessions: header + @params; returns its length
 * or 0 when it does not fit @cap. */
uint32_t tpm_build_command(uint8_t *buf, uint32_t cap, uint32_t code,
                           const uint8_t *params, uint32_t params_len);

/* "TPM2_GetRandom" style name, or NULL when unknown. */
const char *tpm_command_name(uint32_t code);

#endif
