/* SPDX-License-Identifier: BSD-3-Clause */
#include "counter_backend.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_LEN 9u

static struct counter_backend *cb_of(struct tpmcrb_backend *be)
{
    return (struct counter_backend *)be;
}

static int cb_power_on(struct tpmcrb_backend *be, uint32_t size, bool *resumed)
{
    (void)be; (void)size;
    *resumed = false;
    return 0;
}

static void pause_us(unsigned us)
{
    struct timespec ts = { 0, (long)us * 1000 };

    if (us)
        nanosleep(&ts, NULL);
}

static int cb_execute(struct tpmcrb_backend *be, unsigned locality,
                      const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                      uint32_t cap, uint32_t *rsp_len)
{
    struct counter_backend *cb = cb_of(be);
    uint32_t tag = len >= 14 ? tpm_be32(cmd + 10) : 0;

    (void)locality;
    while (atomic_load(&cb->block))
        pause_us(50);
    pause_us(atomic_load(&cb->delay_us));
    atomic_fetch_add(&cb->executed, 1);
    if (cb->fail_exec < 0)
        return cb->fail_exec;
    if (cap < COUNTER_RSP_LEN)
        return -EMSGSIZE;
    tpm_error_response(rsp, TPM_RC_SUCCESS);
    tpm_put_be32(rsp + 2, COUNTER_RSP_LEN);
    tpm_put_be32(rsp + 10, tag);
    tpm_put_be32(rsp + 14, atomic_fetch_add(&cb->count, 1) + 1);
    *rsp_len = COUNTER_RSP_LEN;
    return 0;
}

static bool cb_get_established(struct tpmcrb_backend *be)
{
    return cb_of(be)->established;
}

static int cb_reset_established(struct tpmcrb_backend *be, unsigned loc)
{
    (void)loc;
    cb_of(be)->established = false;
    return 0;
}

static int cb_save_state(struct tpmcrb_backend *be, uint8_t **blob,
                         size_t *len)
{
    struct counter_backend *cb = cb_of(be);
    uint8_t *p;

    if (cb->fail_save < 0)
        return cb->fail_save;
    if (!(p = malloc(STATE_LEN)))
        return -ENOMEM;
    memcpy(p, "CNTR", 4);
    tpm_put_be32(p + 4, atomic_load(&cb->count));
    p[8] = cb->established;
    *blob = p;
    *len = STATE_LEN;
    return 0;
}

static int cb_load_state(struct tpmcrb_backend *be, const uint8_t *blob,
                         size_t len)
{
    struct counter_backend *cb = cb_of(be);

    if (cb->fail_load < 0)
        return cb->fail_load;
    if (len != STATE_LEN || memcmp(blob, "CNTR", 4) || blob[8] > 1)
        return -EINVAL;
    atomic_store(&cb->count, tpm_be32(blob + 4));
    cb->established = blob[8];
    return 0;
}

static void cb_destroy(struct tpmcrb_backend *be) { (void)be; }

void counter_backend_init(struct counter_backend *cb, bool with_state)
{
    memset(cb, 0, sizeof(*cb));
    cb->ops = (struct tpmcrb_backend_ops){
        .size = sizeof(struct tpmcrb_backend_ops),
        .name = "counter",
        .power_on = cb_power_on,
        .execute = cb_execute,
        .get_established = cb_get_established,
        .reset_established = cb_reset_established,
        .save_state = with_state ? cb_save_state : NULL,
        .load_state = with_state ? cb_load_state : NULL,
        .destroy = cb_destroy,
    };
    cb->be.ops = &cb->ops;
    cb->established = true;
}

uint32_t counter_command(uint8_t *buf, uint32_t tag)
{
    uint8_t param[4];

    tpm_put_be32(param, tag);
    return tpm_build_command(buf, 14, TPM_CC_GetRandom, param, 4);
}

bool counter_response(const uint8_t *rsp, uint32_t len, uint32_t *tag,
                      uint32_t *count)
{
    if (len != COUNTER_RSP_LEN || tpm_hdr_size(rsp) != COUNTER_RSP_LEN ||
        tpm_hdr_code(rsp) != TPM_RC_SUCCESS)
        return false;
    *tag = tpm_be32(rsp + 10);
    *count = tpm_be32(rsp + 14);
    return true;
}
