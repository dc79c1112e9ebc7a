/* SPDX-License-Identifier: BSD-3-Clause */
#include "fake_backend.h"
#include "util/tpm_cmd.h"

#include <string.h>
#include <time.h>

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

/* Response: header with rc @rc and length rsp_len, then bytes i & 0xFF. */
static int respond(struct fake_backend *f, unsigned locality,
                   const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                   uint32_t cap, uint32_t *rsp_len, uint32_t rc)
{
    uint32_t n = f->rsp_len ? f->rsp_len : TPM_HEADER_SIZE;

    f->last_locality = locality;
    f->last_len = len;
    memcpy(f->last_cmd, cmd, len);
    if (f->fail_with < 0)
        return f->fail_with;
    if (n > cap)
        n = cap;
    for (uint32_t i = 0; i < n; i++)
        rsp[i] = (uint8_t)i;
    tpm_error_response(rsp, rc);
    tpm_put_be32(rsp + 2, n);
    *rsp_len = n;
    return 0;
}

static int fake_execute(struct tpmcrb_backend *be, unsigned locality,
                        const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                        uint32_t cap, uint32_t *rsp_len)
{
    struct fake_backend *f = fake(be);
    bool cancelled = false;

    atomic_store(&f->running, true);
    if (len < TPM_HEADER_SIZE || tpm_hdr_size(cmd) != len)
        atomic_fetch_add(&f->size_mismatches, 1);
    atomic_fetch_add(&f->entered, 1);
    while (atomic_load(&f->block))
        if (atomic_load(&f->cancels)) {
            cancelled = true;
            break;
        }
    f->execute_thread = pthread_self();
    atomic_fetch_add(&f->executed, 1);
    atomic_store(&f->running, false);
    return respond(f, locality, cmd, len, rsp, cap, rsp_len,
                   cancelled ? TPM_RC_CANCELED : TPM_RC_SUCCESS);
}

static int fake_execute_quick(struct tpmcrb_backend *be, unsigned locality,
                              const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                              uint32_t cap, uint32_t *rsp_len)
{
    struct fake_backend *f = fake(be);
    int err;

    if (!f->quick_code || len < TPM_HEADER_SIZE ||
        tpm_hdr_code(cmd) != f->quick_code)
        return TPMCRB_QUICK_DECLINED;
    f->quick_thread = pthread_self();
    atomic_fetch_add(&f->quick_executed, 1);
    err = respond(f, locality, cmd, len, rsp, cap, rsp_len, TPM_RC_SUCCESS);
    if (err < 0)
        return err;
    return f->quick_commit ? TPMCRB_QUICK_COMMIT : TPMCRB_QUICK_DONE;
}

static int fake_commit(struct tpmcrb_backend *be)
{
    struct fake_backend *f = fake(be);

    while (atomic_load(&f->block_commit))
        ;
    atomic_fetch_add(&f->commits, 1);
    return 0;
}

static void fake_cancel(struct tpmcrb_backend *be)
{
    atomic_fetch_add(&fake(be)->cancels, 1);
}

static void slow_establishment_call(struct fake_backend *f)
{
    struct timespec ts = { 0, (long)f->slow_est_us * 1000 };

    if (atomic_load(&f->running))
        atomic_fetch_add(&f->est_calls_while_running, 1);
    if (f->slow_est_us)
        nanosleep(&ts, NULL);
}

static bool fake_get_established(struct tpmcrb_backend *be)
{
    slow_establishment_call(fake(be));
    return fake(be)->established;
}

static int fake_reset_established(struct tpmcrb_backend *be, unsigned loc)
{
    (void)loc;
    slow_establishment_call(fake(be));
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
    .execute_quick = fake_execute_quick,
    .commit = fake_commit,
};

void fake_backend_init(struct fake_backend *f)
{
    memset(f, 0, sizeof(*f));
    f->be.ops = &fake_ops;
    f->established = true;
}

bool fake_backend_wait_entered(struct fake_backend *f, unsigned n)
{
    struct timespec tick = { 0, 100000 };

    for (int i = 0; i < 50000 && atomic_load(&f->entered) < n; i++)
        nanosleep(&tick, NULL);
    return atomic_load(&f->entered) >= n;
}
