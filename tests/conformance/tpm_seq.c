/* SPDX-License-Identifier: BSD-3-Clause */
#include "tpm_seq.h"
#include "util/tpm_cmd.h"

#include <string.h>

#define TPM_RS_PW 0x40000009u
#define TPM_CC_NV_UndefineSpace 0x122u
#define TPM_CC_NV_Write 0x137u
#define TPM_CC_PCR_Reset 0x13Du
#define TPM_CC_SequenceUpdate 0x15Cu

static void u8(struct tpm_buf *b, uint8_t v) { b->data[b->len++] = v; }
static void u16(struct tpm_buf *b, uint16_t v) { tpm_put_be16(b->data + b->len, v); b->len += 2; }
static void u32(struct tpm_buf *b, uint32_t v) { tpm_put_be32(b->data + b->len, v); b->len += 4; }

static void bytes(struct tpm_buf *b, const uint8_t *p, uint32_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void begin(struct tpm_buf *b, uint16_t tag, uint32_t code)
{
    b->len = 0;
    u16(b, tag);
    u32(b, 0); /* size, patched by end() */
    u32(b, code);
}

static void end(struct tpm_buf *b)
{
    tpm_put_be32(b->data + 2, b->len);
}

/* Authorization area: one password session with an empty password. */
static void pw_session(struct tpm_buf *b)
{
    u32(b, 9);           /* authorizationSize */
    u32(b, TPM_RS_PW);
    u16(b, 0);           /* nonce */
    u8(b, 0);            /* attributes */
    u16(b, 0);           /* hmac = password */
}

void seq_startup(struct tpm_buf *b, uint16_t type)
{
    begin(b, TPM_ST_NO_SESSIONS, TPM_CC_Startup);
    u16(b, type);
    end(b);
}

void seq_getrandom(struct tpm_buf *b, uint16_t n)
{
    begin(b, TPM_ST_NO_SESSIONS, TPM_CC_GetRandom);
    u16(b, n);
    end(b);
}

void seq_pcr_extend(struct tpm_buf *b, uint32_t pcr, const uint8_t digest[32])
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_PCR_Extend);
    u32(b, pcr);
    pw_session(b);
    u32(b, 1);           /* TPML_DIGEST_VALUES.count */
    u16(b, TPM_ALG_SHA256);
    bytes(b, digest, 32);
    end(b);
}

void seq_pcr_reset(struct tpm_buf *b, uint32_t pcr)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_PCR_Reset);
    u32(b, pcr);
    pw_session(b);
    end(b);
}

void seq_pcr_read(struct tpm_buf *b, uint32_t pcr)
{
    begin(b, TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read);
    u32(b, 1);           /* TPML_PCR_SELECTION.count */
    u16(b, TPM_ALG_SHA256);
    u8(b, 3);            /* sizeofSelect */
    u8(b, (uint8_t)(pcr < 8 ? 1u << pcr : 0));
    u8(b, (uint8_t)(pcr >= 8 && pcr < 16 ? 1u << (pcr - 8) : 0));
    u8(b, (uint8_t)(pcr >= 16 ? 1u << (pcr - 16) : 0));
    end(b);
}

void seq_nv_define(struct tpm_buf *b, uint32_t index, uint16_t size)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_NV_DefineSpace);
    u32(b, TPM_RH_OWNER);
    pw_session(b);
    u16(b, 0);           /* auth */
    u16(b, 14);          /* TPM2B_NV_PUBLIC size */
    u32(b, index);
    u16(b, TPM_ALG_SHA256);
    u32(b, (1u << 1) | (1u << 17)); /* OWNERWRITE | OWNERREAD */
    u16(b, 0);           /* authPolicy */
    u16(b, size);
    end(b);
}

void seq_nv_undefine(struct tpm_buf *b, uint32_t index)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_NV_UndefineSpace);
    u32(b, TPM_RH_OWNER);
    u32(b, index);
    pw_session(b);
    end(b);
}

void seq_nv_write(struct tpm_buf *b, uint32_t index, const uint8_t *data,
                  uint16_t len)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_NV_Write);
    u32(b, TPM_RH_OWNER);
    u32(b, index);
    pw_session(b);
    u16(b, len);
    bytes(b, data, len);
    u16(b, 0);           /* offset */
    end(b);
}

void seq_nv_read(struct tpm_buf *b, uint32_t index, uint16_t len)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_NV_Read);
    u32(b, TPM_RH_OWNER);
    u32(b, index);
    pw_session(b);
    u16(b, len);
    u16(b, 0);           /* offset */
    end(b);
}

void seq_create_primary_rsa(struct tpm_buf *b, uint16_t bits)
{
    begin(b, TPM_ST_SESSIONS, TPM_CC_CreatePrimary);
    u32(b, TPM_RH_OWNER);
    pw_session(b);
    u16(b, 4);           /* TPM2B_SENSITIVE_CREATE: empty auth and data */
    u16(b, 0);
    u16(b, 0);
    u16(b, 26);          /* TPM2B_PUBLIC size */
    u16(b, 0x0001);      /* TPM_ALG_RSA */
    u16(b, TPM_ALG_SHA256);
    u32(b, 0x00030072);  /* fixedTPM|fixedParent|sensitiveDataOrigin|
                            userWithAuth|restricted|decrypt */
    u16(b, 0);           /* authPolicy */
    u16(b, 0x0006);      /* AES */
    u16(b, 128);
    u16(b, 0x0043);      /* CFB */
    u16(b, 0x0010);      /* scheme NULL */
    u16(b, bits);
    u32(b, 0);           /* exponent */
    u16(b, 0);           /* unique */
    u16(b, 0);           /* outsideInfo */
    u32(b, 0);           /* creationPCR */
    end(b);
}

void seq_flush(struct tpm_buf *b, uint32_t handle)
{
    begin(b, TPM_ST_NO_SESSIONS, TPM_CC_FlushContext);
    u32(b, handle);
    end(b);
}

void seq_big(struct tpm_buf *b, uint32_t total, uint32_t handle)
{
    uint32_t n;

    begin(b, TPM_ST_SESSIONS, TPM_CC_SequenceUpdate);
    u32(b, handle); /* one that does not exist */
    pw_session(b);
    n = total - b->len - 2;
    u16(b, (uint16_t)n);
    memset(b->data + b->len, 0xA5, n);
    b->len += n;
    end(b);
}

const uint8_t *seq_pcr_read_digest(const uint8_t *rsp, uint32_t len)
{
    /* header, updateCounter, TPML_PCR_SELECTION (4+2+1+3), count, size */
    uint32_t off = TPM_HEADER_SIZE + 4 + 10 + 4;

    if (len < off + 2 + 32 || tpm_be32(rsp + off - 4) != 1 ||
        tpm_be16(rsp + off) != 32)
        return NULL;
    return rsp + off + 2;
}

const uint8_t *seq_nv_read_data(const uint8_t *rsp, uint32_t len, uint16_t *n)
{
    uint32_t off = TPM_HEADER_SIZE + 4; /* parameterSize */

    if (len < off + 2)
        return NULL;
    *n = tpm_be16(rsp + off);
    if (off + 2 + *n > len)
        return NULL;
    return rsp + off + 2;
}
