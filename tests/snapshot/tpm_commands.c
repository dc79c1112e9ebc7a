/* SPDX-License-Identifier: BSD-3-Clause */
#include "tpm_commands.h"
#include "util/tpm_cmd.h"

#include <string.h>

struct cmd {
    uint8_t *b;
    uint32_t len;
};

static void u8(struct cmd *c, uint8_t v) { c->b[c->len++] = v; }

static void u16(struct cmd *c, uint16_t v)
{
    tpm_put_be16(c->b + c->len, v);
    c->len += 2;
}

static void u32(struct cmd *c, uint32_t v)
{
    tpm_put_be32(c->b + c->len, v);
    c->len += 4;
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
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, 0x143);

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

    u32(&c, 1);
    u16(&c, TPM_ALG_SHA256);
    u8(&c, 3);
    u8(&c, (uint8_t)mask);
    u8(&c, (uint8_t)(mask >> 8));
    u8(&c, (uint8_t)(mask >> 16));
    return end(&c);
}

uint32_t tc_pcr_extend(uint8_t *b, uint32_t pcr, uint8_t fill)
{
    struct cmd c = begin(b, TPM_ST_SESSIONS, TPM_CC_PCR_Extend);

    u32(&c, pcr);
    password_session(&c);
    u32(&c, 1);
    u16(&c, TPM_ALG_SHA256);
    memset(c.b + c.len, fill, 32);
    c.len += 32;
    return end(&c);
}

uint32_t tc_hash_sequence_start(uint8_t *b)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_HashSequenceStart);

    u16(&c, 0);
    u16(&c, TPM_ALG_SHA256);
    return end(&c);
}

uint32_t tc_flush_context(uint8_t *b, uint32_t handle)
{
    struct cmd c = begin(b, TPM_ST_NO_SESSIONS, TPM_CC_FlushContext);

    u32(&c, handle);
    return end(&c);
}
