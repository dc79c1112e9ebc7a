/* SPDX-License-Identifier: BSD-3-Clause */
#include "fake_backend.h"
#include "util/tpm_cmd.h"

#include <string.h>

static struct fake_backend *fake(struct tpmcrb_backend *be)
{
    return (struct fake_backend *)be;
}

static int fake_power_on(struct tpmcrb_backend *be, uint32_t size, bool *resumed)
{
    (void)be; (void)size;
    *resumed = false;
    return 0;
}

/* Response: header with rc 0 and length rsp_len, then bytes i & 0xFF. */
static int fake_execute(struct tpmcrb_backend *be, unsigned locality,
                        const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                        uint32_t cap, uint32_t *rsp_len)
{
    struct fake_backend *f = fake(be);
    uint32_t n = f->rsp_len ? f->rsp_len : TPM_HEADER_SIZE;
    bool cancelled = false;

    while (atomic_load(&f->block))
        if (atomic_load(&f->cancels)) {
            cancelled = true;
            break;
        }
    f->last_locality = locality;
    f->last_len = len;
    memcpy(f->last_cmd, cmd, len);
    atomic_fetch_add(&f->executed, 1);
    if (f->fail_with < 0)
        return f->fail_with;
    if (n > cap)
        n = cap;
    for (uint32_t i = 0; i < n; i++)
        rsp[i] = (uint8_t)i;
    tpm_error_response(rsp, cancelled ? TPM_RC_CANCELED : TPM_RC_SUCCESS);
    tpm_put_be32(rsp + 2, n);
    *rsp_len = n;
    return 0;
}

static void fake_cancel(struct tpmcrb_backend *be)
{
    atomic_fetch_add(&fake(be)->cancels, 1);
}

static bool fake_get_established(struct tpmcrb_backend *be)
{
    return fake(be)->established;
}

static int fake_reset_established(struct tpmcrb_backend *be, unsigned loc)
{
    (void)loc;
    fake(be)->established = false;
    fake(be)->reset_est_calls++;
    return 0;
}

static void fake_destroy(struct tpmcrb_backend *be) { (void)be; }

static const struct tpmcrb_backend_ops fake_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "fake",
    .power_on = fake_power_on,
    .execute = fake_execute,
    .cancel = fake_cancel,
    .get_established = fake_get_established,
    .reset_established = fake_reset_established,
    .destroy = fake_destroy,
};

void fake_backend_init(struct fake_backend *f)
{
    memset(f, 0, sizeof(*f));
    f->be.ops = &fake_ops;
    f->established = true;
}
