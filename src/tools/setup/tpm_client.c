/* SPDX-License-Identifier: BSD-3-Clause */
/* The tool's own TPM client: a device on the libtpms backend. */
#include "tools/setup/tpm_client.h"
#include "tools/tool.h"

#include <errno.h>
#include <string.h>

#define TPM_RS_PW 0x40000009u
#define CLIENT_TIMEOUT_MS 600000u   /* RSA key generation on a loaded host */

void tb_bytes(struct tpm_buf *b, const void *p, uint32_t n)
{
    if (b->overflow || n > sizeof(b->data) - b->len) {
        b->overflow = true;
        return;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void tb_u8(struct tpm_buf *b, uint8_t v)
{
    tb_bytes(b, &v, 1);
}

void tb_u16(struct tpm_buf *b, uint16_t v)
{
    uint8_t x[2];

    tpm_put_be16(x, v);
    tb_bytes(b, x, 2);
}

void tb_u32(struct tpm_buf *b, uint32_t v)
{
    uint8_t x[4];

    tpm_put_be32(x, v);
    tb_bytes(b, x, 4);
}

void tb_2b(struct tpm_buf *b, const void *p, uint16_t n)
{
    tb_u16(b, n);
    tb_bytes(b, p, n);
}

const uint8_t *rd_bytes(struct tpm_rd *r, uint32_t n)
{
    const uint8_t *p;

    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t rd_u8(struct tpm_rd *r)
{
    const uint8_t *p = rd_bytes(r, 1);

    return p ? p[0] : 0;
}

uint16_t rd_u16(struct tpm_rd *r)
{
    const uint8_t *p = rd_bytes(r, 2);

    return p ? tpm_be16(p) : 0;
}

uint32_t rd_u32(struct tpm_rd *r)
{
    const uint8_t *p = rd_bytes(r, 4);

    return p ? tpm_be32(p) : 0;
}

const uint8_t *rd_2b(struct tpm_rd *r, uint16_t *n)
{
    *n = rd_u16(r);
    return rd_bytes(r, *n);
}

int tpm_client_call(struct tpm_client *c, uint32_t code,
                    const uint32_t *handles, unsigned nh, bool auth,
                    const struct tpm_buf *params, unsigned rsp_handles,
                    uint32_t *out_handle, struct tpm_rd *rp)
{
    static const struct tpm_buf none;
    struct tpm_buf b = { .len = 0 };
    struct tpm_rd r;
    uint32_t rc, psize;
    int err;

    if (!params)
        params = &none;
    tb_u16(&b, auth ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS);
    tb_u32(&b, 0); /* size, filled in below */
    tb_u32(&b, code);
    for (unsigned i = 0; i < nh; i++)
        tb_u32(&b, handles[i]);
    if (auth) {
        tb_u32(&b, 9);          /* authorizationSize */
        tb_u32(&b, TPM_RS_PW);
        tb_u16(&b, 0);          /* nonce */
        tb_u8(&b, 0);           /* session attributes */
        tb_u16(&b, 0);          /* empty password */
    }
    tb_bytes(&b, params->data, params->len);
    if (b.overflow || params->overflow)
        return -EMSGSIZE;
    tpm_put_be32(b.data + 2, b.len);
    err = crb_driver_transmit(&c->drv, b.data, b.len, c->rsp, sizeof(c->rsp),
                              &c->rsp_len);
    if (err < 0) {
        LOG_ERROR("the TPM failed command 0x%x: %s", code, strerror(-err));
        return err;
    }
    r = (struct tpm_rd){ .p = c->rsp, .len = c->rsp_len };
    rd_bytes(&r, 6);
    rc = rd_u32(&r);
    if (r.bad)
        return -EPROTO;
    if (rc)
        return (int)rc;
    for (unsigned i = 0; i < rsp_handles; i++) {
        uint32_t h = rd_u32(&r);

        if (out_handle && i == 0)
            *out_handle = h;
    }
    if (auth) {
        /* The parameters are framed by parameterSize; sessions follow. */
        psize = rd_u32(&r);
        if (r.bad || psize > r.len - r.off)
            return -EPROTO;
        r.len = r.off + psize;
    }
    if (r.bad)
        return -EPROTO;
    if (rp)
        *rp = r;
    return 0;
}

int tpm_client_open(struct tpm_client *c, const char *state_dir,
                    bool fresh_boot)
{
    struct tpmcrb_backend_options bo = { .size = sizeof(bo),
        .state_dir = state_dir,
        .sync = TPMCRB_STATE_SYNC_OWNER,
        .power_cycle = fresh_boot,
    };
    struct device_options d;
    struct tpmcrb_config cfg;
    uint32_t h;
    struct tpm_buf su = { .len = 0 };
    int err;

    memset(c, 0, sizeof(*c));
    if ((err = tpmcrb_backend_open("libtpms", &bo, &c->be)) < 0)
        return err;
    device_options_init(&d);
    device_options_config(&d, &cfg);
    if ((err = tpmcrb_device_new(&cfg, c->be, &c->dev)) < 0)
        goto fail;
    if ((err = crb_driver_init(&c->drv, c->dev, 0)) < 0)
        goto fail;
    c->drv.timeout_ms = CLIENT_TIMEOUT_MS;
    if (tpmcrb_device_tpm_resumed(c->dev))
        return 0;
    tb_u16(&su, TPM_SU_CLEAR);
    err = tpm_client_call(c, TPM_CC_Startup, NULL, 0, false, &su, 0, &h, NULL);
    if (err == 0 || err == TPM_RC_INITIALIZE)
        return 0;
    LOG_ERROR("TPM2_Startup(CLEAR) failed (0x%x)", err);
    err = err > 0 ? -EIO : err;
fail:
    tpm_client_close(c);
    return err;
}

int tpm_client_close(struct tpm_client *c)
{
    tpmcrb_device_free(c->dev);
    tpmcrb_backend_close(c->be);
    c->dev = NULL;
    c->be = NULL;
    return 0;
}
