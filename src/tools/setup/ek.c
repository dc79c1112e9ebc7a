/* SPDX-License-Identifier: BSD-3-Clause */
/* EK templates, EK certificate NV indices and PCR banks. */
#include "tools/setup/ek.h"
#include "tools/tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPM_RH_OWNER       0x40000001u
#define TPM_RH_ENDORSEMENT 0x4000000Bu
#define TPM_RH_PLATFORM    0x4000000Cu

#define TPM_CC_NV_UndefineSpace 0x122u
#define TPM_CC_PCR_Allocate     0x12Bu
#define TPM_CC_NV_Write         0x137u
#define TPM_CC_NV_WriteLock     0x138u
#define TPM_CC_NV_ReadPublic    0x169u

#define TPM_ALG_RSA    0x0001u
#define TPM_ALG_SHA1   0x0004u
#define TPM_ALG_AES    0x0006u
#define TPM_ALG_SHA256 0x000Bu
#define TPM_ALG_SHA384 0x000Cu
#define TPM_ALG_SHA512 0x000Du
#define TPM_ALG_NULL   0x0010u
#define TPM_ALG_ECC    0x0023u
#define TPM_ALG_CFB    0x0043u
#define TPM_ECC_NIST_P256 0x0003u
#define TPM_CAP_PCRS   0x00000005u

/* Handle 1 does not exist (TPM_RC_HANDLE + handle number 1). */
#define RC_HANDLE_1    0x18Bu

/* fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy,
 * restricted, decrypt: what both default EK templates set. */
#define EK_ATTRIBUTES  0x000300B2u

/* TPM2_PolicySecret(TPM_RH_ENDORSEMENT): the default EK policy digest. */
static const uint8_t ek_policy[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC,
    0x8D, 0x46, 0xA5, 0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52,
    0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
};

/* EK certificate indices: platform created and written (PPWRITE,
 * WRITEDEFINE, PLATFORMCREATE), readable by the platform, the owner and
 * with the index's own (empty) auth, no dictionary-attack lockout. */
#define EK_CERT_NV_ATTRIBUTES 0x42072001u

#define NV_CHUNK 768u

const char *ek_type_name(enum ek_type t)
{
    return t == EK_RSA2048 ? "RSA 2048" : "ECC NIST P-256";
}

uint32_t ek_cert_index(enum ek_type t)
{
    return t == EK_RSA2048 ? EK_CERT_NV_RSA : EK_CERT_NV_ECC;
}

static void ek_template(struct tpm_buf *b, enum ek_type t)
{
    static const uint8_t zeros[256];

    tb_u16(b, t == EK_RSA2048 ? TPM_ALG_RSA : TPM_ALG_ECC);
    tb_u16(b, TPM_ALG_SHA256);
    tb_u32(b, EK_ATTRIBUTES);
    tb_2b(b, ek_policy, sizeof(ek_policy));
    tb_u16(b, TPM_ALG_AES);          /* symmetric: AES-128-CFB */
    tb_u16(b, 128);
    tb_u16(b, TPM_ALG_CFB);
    tb_u16(b, TPM_ALG_NULL);         /* scheme */
    if (t == EK_RSA2048) {
        tb_u16(b, 2048);
        tb_u32(b, 0);                /* default exponent */
        tb_2b(b, zeros, 256);        /* unique: 256 zero bytes */
    } else {
        tb_u16(b, TPM_ECC_NIST_P256);
        tb_u16(b, TPM_ALG_NULL);     /* kdf */
        tb_2b(b, zeros, 32);         /* unique.x, unique.y: 32 zero bytes */
        tb_2b(b, zeros, 32);
    }
}

/* Read a TPMT_PUBLIC of the kind ek_template() made. */
static int parse_public(struct tpm_rd *r, enum ek_type t, struct ek_public *out)
{
    const uint8_t *p;
    uint16_t n, alg;

    alg = rd_u16(r);
    if (alg != (t == EK_RSA2048 ? TPM_ALG_RSA : TPM_ALG_ECC))
        return -EPROTO;
    rd_u16(r);                       /* nameAlg */
    rd_u32(r);                       /* attributes */
    rd_2b(r, &n);                    /* policy */
    if (rd_u16(r) != TPM_ALG_NULL) { /* symmetric */
        rd_u16(r);
        rd_u16(r);
    }
    if (rd_u16(r) != TPM_ALG_NULL)   /* scheme */
        rd_u16(r);
    out->type = t;
    if (t == EK_RSA2048) {
        if (rd_u16(r) != 2048)
            return -EPROTO;
        rd_u32(r);
        p = rd_2b(r, &n);
        if (r->bad || n != sizeof(out->rsa_n))
            return -EPROTO;
        memcpy(out->rsa_n, p, n);
        return 0;
    }
    if (rd_u16(r) != TPM_ECC_NIST_P256)
        return -EPROTO;
    if (rd_u16(r) != TPM_ALG_NULL)
        rd_u16(r);
    p = rd_2b(r, &n);
    if (r->bad || n != 32)
        return -EPROTO;
    memcpy(out->ecc_x, p, 32);
    p = rd_2b(r, &n);
    if (r->bad || n != 32)
        return -EPROTO;
    memcpy(out->ecc_y, p, 32);
    return 0;
}

static int tpm_failed(const char *what, int rc)
{
    if (rc > 0)
        LOG_ERROR("%s failed: TPM response code 0x%x", what, (unsigned)rc);
    else
        LOG_ERROR("%s failed: %s", what, strerror(-rc));
    return rc > 0 ? -EIO : rc;
}

int ek_create(struct tpm_client *c, enum ek_type t, struct ek_public *out)
{
    struct tpm_buf p = { .len = 0 }, pub = { .len = 0 }, flush = { .len = 0 };
    uint32_t hier = TPM_RH_ENDORSEMENT, handle = 0;
    static const uint8_t sensitive[] = { 0, 4, 0, 0, 0, 0 };
    struct tpm_rd r, pr;
    const uint8_t *pb;
    uint16_t n;
    int rc;

    ek_template(&pub, t);
    tb_bytes(&p, sensitive, sizeof(sensitive));
    tb_2b(&p, pub.data, (uint16_t)pub.len);
    tb_u16(&p, 0);                   /* outsideInfo */
    tb_u32(&p, 0);                   /* creationPCR: none */
    rc = tpm_client_call(c, TPM_CC_CreatePrimary, &hier, 1, true, &p, 1,
                         &handle, &r);
    if (rc)
        return tpm_failed("TPM2_CreatePrimary of the EK", rc);
    pb = rd_2b(&r, &n);
    pr = (struct tpm_rd){ .p = pb, .len = pb ? n : 0 };
    rc = r.bad ? -EPROTO : parse_public(&pr, t, out);
    tb_u32(&flush, handle);
    tpm_client_call(c, TPM_CC_FlushContext, NULL, 0, false, &flush, 0, NULL,
                    NULL);
    if (rc < 0)
        LOG_ERROR("the TPM returned an EK public area of another shape");
    return rc;
}

/* 0 when defined, -ENOENT when not, another error otherwise. */
static int nv_size(struct tpm_client *c, uint32_t index, uint16_t *size)
{
    struct tpm_rd r;
    uint16_t n;
    int rc;

    rc = tpm_client_call(c, TPM_CC_NV_ReadPublic, &index, 1, false, NULL, 0,
                         NULL, &r);
    if (rc == RC_HANDLE_1)
        return -ENOENT;
    if (rc)
        return tpm_failed("TPM2_NV_ReadPublic", rc);
    rd_u16(&r);                      /* size of TPMS_NV_PUBLIC */
    rd_u32(&r);                      /* index */
    rd_u16(&r);                      /* nameAlg */
    rd_u32(&r);                      /* attributes */
    rd_2b(&r, &n);                   /* authPolicy */
    *size = rd_u16(&r);
    return r.bad ? -EPROTO : 0;
}

int nv_store_cert(struct tpm_client *c, uint32_t index, const uint8_t *data,
                  uint16_t len)
{
    uint32_t h[2] = { TPM_RH_PLATFORM, index };
    struct tpm_buf p = { .len = 0 }, pub = { .len = 0 };
    uint16_t old;
    int rc;

    if ((rc = nv_size(c, index, &old)) == 0) {
        rc = tpm_client_call(c, TPM_CC_NV_UndefineSpace, h, 2, true, NULL, 0,
                             NULL, NULL);
        if (rc)
            return tpm_failed("TPM2_NV_UndefineSpace", rc);
    } else if (rc != -ENOENT) {
        return rc;
    }
    tb_u32(&pub, index);
    tb_u16(&pub, TPM_ALG_SHA256);
    tb_u32(&pub, EK_CERT_NV_ATTRIBUTES);
    tb_u16(&pub, 0);                 /* authPolicy */
    tb_u16(&pub, len);
    tb_u16(&p, 0);                   /* auth */
    tb_2b(&p, pub.data, (uint16_t)pub.len);
    rc = tpm_client_call(c, TPM_CC_NV_DefineSpace, h, 1, true, &p, 0, NULL,
                         NULL);
    if (rc)
        return tpm_failed("TPM2_NV_DefineSpace", rc);
    for (uint16_t off = 0; off < len;) {
        uint16_t n = (uint16_t)((unsigned)(len - off) > NV_CHUNK ? NV_CHUNK : (unsigned)(len - off));

        p.len = 0;
        tb_2b(&p, data + off, n);
        tb_u16(&p, off);
        rc = tpm_client_call(c, TPM_CC_NV_Write, h, 2, true, &p, 0, NULL,
                             NULL);
        if (rc)
            return tpm_failed("TPM2_NV_Write", rc);
        off += n;
    }
    return 0;
}

int nv_write_lock(struct tpm_client *c, uint32_t index)
{
    uint32_t h[2] = { TPM_RH_PLATFORM, index };
    int rc = tpm_client_call(c, TPM_CC_NV_WriteLock, h, 2, true, NULL, 0, NULL,
                             NULL);

    return rc ? tpm_failed("TPM2_NV_WriteLock", rc) : 0;
}

int nv_read_all(struct tpm_client *c, uint32_t index, uint8_t **data,
                uint16_t *len)
{
    /* With the index's own (empty) auth: a guest may have set an owner
     * password, the certificate stays readable by anyone. */
    uint32_t h[2] = { index, index };
    struct tpm_buf p;
    struct tpm_rd r;
    const uint8_t *b;
    uint16_t size, n;
    uint8_t *out;
    int rc;

    if ((rc = nv_size(c, index, &size)) < 0)
        return rc;
    if (!(out = malloc(size ? size : 1)))
        return -ENOMEM;
    for (uint16_t off = 0; off < size; off += n) {
        n = (uint16_t)((unsigned)(size - off) > NV_CHUNK ? NV_CHUNK : (unsigned)(size - off));
        p.len = 0;
        p.overflow = false;
        tb_u16(&p, n);
        tb_u16(&p, off);
        rc = tpm_client_call(c, TPM_CC_NV_Read, h, 2, true, &p, 0, NULL, &r);
        b = rc ? NULL : rd_2b(&r, &n);
        if (!b || n == 0) {
            free(out);
            return tpm_failed("TPM2_NV_Read", rc ? rc : -EPROTO);
        }
        memcpy(out + off, b, n);
    }
    *data = out;
    *len = size;
    return 0;
}

/* ----------------------------------------------------------- PCR banks */

static const struct {
    const char *name;
    uint16_t alg;
} banks[] = {
    { "sha1", TPM_ALG_SHA1 }, { "sha256", TPM_ALG_SHA256 },
    { "sha384", TPM_ALG_SHA384 }, { "sha512", TPM_ALG_SHA512 },
};
#define NBANKS (sizeof(banks) / sizeof(banks[0]))

/* Which banks @list names (bit i: banks[i]); 0 when it names an unknown
 * one or none. */
static unsigned banks_of(const char *list, const char **bad)
{
    unsigned mask = 0;
    const char *p = list;

    *bad = NULL;
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t i;

        for (i = 0; i < NBANKS; i++)
            if (strlen(banks[i].name) == len && !strncmp(p, banks[i].name, len))
                break;
        if (i == NBANKS) {
            *bad = p;
            return 0;
        }
        mask |= 1u << i;
        p += len;
        if (*p)
            p++;
    }
    return mask;
}

const char *pcr_banks_check(const char *list)
{
    const char *bad;

    if (banks_of(list, &bad))
        return NULL;
    return "--pcr-banks takes a comma-separated list of sha1, sha256, "
           "sha384, sha512";
}

int pcr_allocate(struct tpm_client *c, const char *list)
{
    uint32_t h = TPM_RH_PLATFORM;
    struct tpm_buf p = { .len = 0 };
    struct tpm_rd r;
    const char *bad;
    unsigned mask = banks_of(list, &bad);
    uint8_t all = 0xFF;
    int rc;

    if (!mask)
        return -EINVAL;
    tb_u32(&p, NBANKS);
    for (size_t i = 0; i < NBANKS; i++) {
        uint8_t sel = (mask >> i) & 1 ? all : 0;

        tb_u16(&p, banks[i].alg);
        tb_u8(&p, 3);                /* PCRs 0-23 */
        tb_u8(&p, sel);
        tb_u8(&p, sel);
        tb_u8(&p, sel);
    }
    rc = tpm_client_call(c, TPM_CC_PCR_Allocate, &h, 1, true, &p, 0, NULL, &r);
    if (rc)
        return tpm_failed("TPM2_PCR_Allocate", rc);
    if (rd_u8(&r) != 1 || r.bad) {   /* allocationSuccess */
        LOG_ERROR("the TPM refused the PCR bank allocation %s", list);
        return -EINVAL;
    }
    return 0;
}

int pcr_active_banks(struct tpm_client *c, char *out, size_t cap)
{
    struct tpm_buf p = { .len = 0 };
    struct tpm_rd r;
    uint32_t count;
    int rc;

    tb_u32(&p, TPM_CAP_PCRS);
    tb_u32(&p, 0);
    tb_u32(&p, 1);
    rc = tpm_client_call(c, TPM_CC_GetCapability, NULL, 0, false, &p, 0, NULL,
                         &r);
    if (rc)
        return tpm_failed("TPM2_GetCapability(PCRS)", rc);
    rd_u8(&r);
    rd_u32(&r);
    count = rd_u32(&r);
    out[0] = '\0';
    for (uint32_t i = 0; i < count && !r.bad; i++) {
        uint16_t alg = rd_u16(&r);
        uint8_t n = rd_u8(&r), any = 0;
        const uint8_t *sel = rd_bytes(&r, n);

        for (uint8_t k = 0; sel && k < n; k++)
            any |= sel[k];
        for (size_t b = 0; any && b < NBANKS; b++)
            if (banks[b].alg == alg) {
                size_t used = strlen(out);

                snprintf(out + used, cap - used, "%s%s", used ? "," : "",
                         banks[b].name);
            }
    }
    return r.bad ? -EPROTO : 0;
}

int tpm_property(struct tpm_client *c, uint32_t prop, uint32_t *value)
{
    struct tpm_buf p = { .len = 0 };
    struct tpm_rd r;
    int rc;

    tb_u32(&p, 6);                   /* TPM_CAP_TPM_PROPERTIES */
    tb_u32(&p, prop);
    tb_u32(&p, 1);
    rc = tpm_client_call(c, TPM_CC_GetCapability, NULL, 0, false, &p, 0, NULL,
                         &r);
    if (rc)
        return tpm_failed("TPM2_GetCapability(TPM_PROPERTIES)", rc);
    rd_u8(&r);
    rd_u32(&r);
    if (rd_u32(&r) != 1 || rd_u32(&r) != prop || r.bad)
        return -EPROTO;
    *value = rd_u32(&r);
    return r.bad ? -EPROTO : 0;
}
