/* SPDX-License-Identifier: BSD-3-Clause */
#include "tpm_commands.h"
#include "util/tpm_cmd.h"

#include <string.h>

#define TPM_CC_NV_UndefineSpace 0x122u
#define TPM_CC_NV_Write         0x137u
#define TPM_CC_PCR_Reset        0x13Du
#define TPM_CC_SelfTest         0x143u
#define TPM_CC_SequenceUpdate   0x15Cu

struct cmd {
    uint8_t *b;
    uint32_t len;
};

/* @n big-endian bytes of @v. */
static void put_be(struct cmd *c, uint32_t v, unsigned n)
{
    while (n--)
        c->b[c->len++] = (uint8_t)(v >> (8 * n));
}

static void u8(struct cmd *c, uint8_t v) { put_be(c, v, 1); }
static void u16(struct cmd *c, uint16_t v) { put_be(c, v, 2); }
static void u32(struct cmd *c, uint32_t v) { put_be(c, v, 4); }

static void bytes(struct cmd *c, const uint8_t *p, uint32_t n)
{
    memcpy(c->b + c->len, p, n);
    c->len += n;
}

static struct cmd begin(uint8_t *b, uint16_t tag, uint32_t code)
{
    struct cmd c = { b, 0 };

    u16(&c, tag);
    u32(&c, 0); /* size, set by end() */
    u32(&c, code);
    return c;
}

static uint32_t end(struct cmd *c)
{
    tpm_put_be32(c->b + 2, c->len);
    return c->len;
}

/* An empty password: TPM_RS_PW, no nonce, no attributes, no HMAC. */
static void password_session(struct cmd *c)
{
    u32(c, 9);
    u32(c, TPM_RS_PW);
    u16(c, 0);
    u8(c, 0);
    u16(c, 0);
}

uint32_t tc_startup(uint8_t *b, uint16_t type)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_Startup);

    u16(&c, type);
    return end(&c);
}

uint32_t tc_self_test(uint8_t *b)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_SelfTest);

    u8(&c, 1); /* fullTest */
    return end(&c);
}

uint32_t tc_get_random(uint8_t *b, uint16_t count)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_GetRandom);

    u16(&c, count);
    return end(&c);
}

uint32_t tc_get_capability(uint8_t *b, uint32_t cap, uint32_t prop,
                           uint32_t count)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_GetCapability);

    u32(&c, cap);
    u32(&c, prop);
    u32(&c, count);
    return end(&c);
}

uint32_t tc_pcr_read(uint8_t *b, uint32_t mask)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read);

    u32(&c, 1);          /* TPML_PCR_SELECTION count */
    u16(&c, TPM_ALG_SHA256);
    u8(&c, 3);           /* sizeofSelect */
    u8(&c, (uint8_t)mask);
    u8(&c, (uint8_t)(mask >> 8));
    u8(&c, (uint8_t)(mask >> 16));
    return end(&c);
}

uint32_t tc_pcr_extend_digest(uint8_t *b, uint32_t pcr,
                              const uint8_t digest[32])
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_PCR_Extend);

    u32(&c, pcr);
    password_session(&c);
    u32(&c, 1);          /* TPML_DIGEST_VALUES count */
    u16(&c, TPM_ALG_SHA256);
    bytes(&c, digest, 32);
    return end(&c);
}

uint32_t tc_pcr_extend(uint8_t *b, uint32_t pcr, uint8_t fill)
{
    uint8_t digest[32];

    memset(digest, fill, sizeof(digest));
    return tc_pcr_extend_digest(b, pcr, digest);
}

uint32_t tc_pcr_reset(uint8_t *b, uint32_t pcr)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_PCR_Reset);

    u32(&c, pcr);
    password_session(&c);
    return end(&c);
}

uint32_t tc_hash_sequence_start(uint8_t *b)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_HashSequenceStart);

    u16(&c, 0);
    u16(&c, TPM_ALG_SHA256);
    return end(&c);
}

uint32_t tc_sequence_update_padded(uint8_t *b, uint32_t total,
                                   uint32_t handle)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_SequenceUpdate);
    uint32_t n;

    u32(&c, handle);
    password_session(&c);
    n = total - c.len - 2;
    u16(&c, (uint16_t)n);
    memset(c.b + c.len, 0xA5, n);
    c.len += n;
    return end(&c);
}

uint32_t tc_flush_context(uint8_t *b, uint32_t handle)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_FlushContext);

    u32(&c, handle);
    return end(&c);
}

uint32_t tc_create_primary_rsa(uint8_t *b, uint16_t bits)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_CreatePrimary);

    u32(&c, TPM_RH_OWNER);
    password_session(&c);
    u16(&c, 4);          /* TPM2B_SENSITIVE_CREATE: empty auth and data */
    u16(&c, 0);
    u16(&c, 0);
    u16(&c, 26);         /* TPM2B_PUBLIC size */
    u16(&c, 0x0001);     /* TPM_ALG_RSA */
    u16(&c, TPM_ALG_SHA256);
    u32(&c, 0x00030072); /* fixedTPM|fixedParent|sensitiveDataOrigin|
                            userWithAuth|restricted|decrypt */
    u16(&c, 0);          /* authPolicy */
    u16(&c, 0x0006);     /* AES */
    u16(&c, 128);
    u16(&c, 0x0043);     /* CFB */
    u16(&c, 0x0010);     /* scheme NULL */
    u16(&c, bits);
    u32(&c, 0);          /* exponent */
    u16(&c, 0);          /* unique */
    u16(&c, 0);          /* outsideInfo */
    u32(&c, 0);          /* creationPCR */
    return end(&c);
}

uint32_t tc_nv_define(uint8_t *b, uint32_t index, uint16_t size,
                      uint32_t attributes)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_NV_DefineSpace);

    u32(&c, TPM_RH_OWNER);
    password_session(&c);
    u16(&c, 0);          /* auth */
    u16(&c, 14);         /* TPM2B_NV_PUBLIC size */
    u32(&c, index);
    u16(&c, TPM_ALG_SHA256);
    u32(&c, attributes);
    u16(&c, 0);          /* authPolicy */
    u16(&c, size);
    return end(&c);
}

uint32_t tc_nv_undefine(uint8_t *b, uint32_t index)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_NV_UndefineSpace);

    u32(&c, TPM_RH_OWNER);
    u32(&c, index);
    password_session(&c);
    return end(&c);
}

uint32_t tc_nv_write(uint8_t *b, uint32_t index, const uint8_t *data,
                     uint16_t len)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_NV_Write);

    u32(&c, TPM_RH_OWNER);
    u32(&c, index);
    password_session(&c);
    u16(&c, len);
    bytes(&c, data, len);
    u16(&c, 0);          /* offset */
    return end(&c);
}

uint32_t tc_nv_read(uint8_t *b, uint32_t index, uint16_t len)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_NV_Read);

    u32(&c, TPM_RH_OWNER);
    u32(&c, index);
    password_session(&c);
    u16(&c, len);
    u16(&c, 0);          /* offset */
    return end(&c);
}

const uint8_t *tc_pcr_read_digest(const uint8_t *rsp, uint32_t len)
{
    /* header, updateCounter, TPML_PCR_SELECTION (4+2+1+3), count, size */
    uint32_t off = TPM_HEADER_SIZE + 4 + 10 + 4;

    if (len < off + 2 + 32 || tpm_be32(rsp + off - 4) != 1 ||
        tpm_be16(rsp + off) != 32)
        return NULL;
    return rsp + off + 2;
}

const uint8_t *tc_nv_read_data(const uint8_t *rsp, uint32_t len, uint16_t *n)
{
    uint32_t off = TPM_HEADER_SIZE + 4; /* parameterSize */

    if (len < off + 2)
        return NULL;
    *n = tpm_be16(rsp + off);
    if (off + 2 + *n > len)
        return NULL;
    return rsp + off + 2;
}
