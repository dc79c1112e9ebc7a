/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench device`: what the device costs on top of the backend, for
 * each transport, side by side in one run: TPM2_GetRandom through the full
 * Linux-style CRB protocol against calling the embedded libtpms backend
 * directly, and how often the response is there at the first status read.
 */
#include "tools/tool.h"
#include "tools/bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mode {
    const char *name;
    enum tpmcrb_layout layout;
    uint32_t bound_us;
    bool full_trap, shared_memory;
};

static const struct mode modes[] = {
    { "rom_split",       TPMCRB_LAYOUT_SPLIT,  TPMCRB_SYNC_BOUND_DEFAULT_US, false, false },
    { "rom_split_async", TPMCRB_LAYOUT_SPLIT,  0,                            false, false },
    { "rom_compat",      TPMCRB_LAYOUT_COMPAT, TPMCRB_SYNC_BOUND_DEFAULT_US, false, false },
    { "full_trap",       TPMCRB_LAYOUT_COMPAT, TPMCRB_SYNC_BOUND_DEFAULT_US, true,  false },
    { "poll",            TPMCRB_LAYOUT_SPLIT,  0,                            false, true  },
};

static uint32_t getrandom_cmd(uint8_t *buf)
{
    return tpm_build_command(buf, 64, TPM_CC_GetRandom,
                             (const uint8_t *)"\x00\x20", 2);
}

static double direct_us(struct tpmcrb_backend *be, unsigned count)
{
    uint8_t cmd[64], rsp[4096];
    uint32_t len = getrandom_cmd(cmd), rlen;
    uint64_t t0 = crb_now_ns();

    for (unsigned i = 0; i < count; i++)
        if (be->ops->execute(be, 0, cmd, len, rsp, sizeof(rsp), &rlen) < 0)
            return -1;
    return (double)(crb_now_ns() - t0) / 1e3 / count;
}

static int send(struct crb_driver *d, uint32_t code, const uint8_t *p,
                uint32_t plen)
{
    uint8_t cmd[64], rsp[4096];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), code, p, plen), rlen;
    int err = crb_driver_transmit(d, cmd, len, rsp, sizeof(rsp), &rlen);

    if (err < 0)
        return err;
    return (int)tpm_hdr_code(rsp);
}

/* Runs @count commands through one device in @m; prints its lines. */
static int run_mode(struct tpmcrb_backend *be, const struct mode *m,
                    unsigned count, double direct)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller = NULL;
    struct crb_driver d = { .full_trap = m->full_trap,
                            .shared_memory = m->shared_memory };
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;
    uint64_t t0;
    double us;
    int err;

    tpmcrb_config_init(&cfg);
    cfg.layout = m->layout;
    cfg.sync_bound_us = m->bound_us;
    if ((err = tpmcrb_device_new(&cfg, be, &dev)) < 0)
        return err;
    if (m->shared_memory && (err = tpmcrb_poller_start(dev, &poller)) < 0)
        goto out;
    crb_driver_init(&d, dev, 0);
    if (!tpmcrb_device_tpm_resumed(dev))
        send(&d, TPM_CC_Startup, (const uint8_t *)"\0\0", 2);
    d.sent = d.ready_at_first_read = 0;
    t0 = crb_now_ns();
    for (unsigned i = 0; i < count && err >= 0; i++)
        err = send(&d, TPM_CC_GetRandom, (const uint8_t *)"\x00\x20", 2);
    us = (double)(crb_now_ns() - t0) / 1e3 / count;
    tpmcrb_get_stats(dev, &st);
    if (err > 0) {
        char rc[CRB_RC_TEXT_MAX];

        LOG_ERROR("TPM2_GetRandom failed with rc %s",
                  crb_rc_text((uint32_t)err, rc, sizeof(rc)));
        err = -EPROTO;
    }
    if (err == 0) {
        printf("BENCH device.%s.us_per_command=%.2f\n", m->name, us);
        printf("BENCH device.%s.commands_per_s=%.0f\n", m->name, 1e6 / us);
        printf("BENCH device.%s.ratio_to_direct=%.2f\n", m->name, us / direct);
        printf("BENCH device.%s.ready_at_first_read_pct=%.1f\n", m->name,
               100.0 * d.ready_at_first_read / d.sent);
        printf("BENCH device.%s.register_writes_per_command=%.1f\n", m->name,
               (double)st.writes / st.commands);
    }
out:
    tpmcrb_poller_stop(poller);
    tpmcrb_device_free(dev);
    return err < 0 ? err : 0;
}

int bench_device(int argc, char **argv)
{
    struct tpmcrb_backend *be;
    unsigned count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 20000;
    double direct;
    int err = 0;

    if (!count) {
        fprintf(stderr, "usage: tpmcrb bench device [COUNT]\n");
        return EXIT_USAGE;
    }
    if (tpmcrb_backend_open("libtpms", NULL, &be) < 0)
        return EXIT_RUNTIME;
    /* A device powers the TPM on; measure the backend inside the first. */
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && !err; i++) {
        struct tpmcrb_config cfg;
        struct tpmcrb_device *dev;
        struct crb_driver d = { 0 };

        tpmcrb_config_init(&cfg);
        if (tpmcrb_device_new(&cfg, be, &dev) < 0) {
            err = -EIO;
            break;
        }
        crb_driver_init(&d, dev, 0);
        send(&d, TPM_CC_Startup, (const uint8_t *)"\0\0", 2);
        direct = direct_us(be, count);
        tpmcrb_device_free(dev);
        if (i == 0) {
            printf("BENCH device.direct.us_per_command=%.2f\n", direct);
            printf("BENCH device.direct.commands_per_s=%.0f\n", 1e6 / direct);
        }
        err = run_mode(be, &modes[i], count, direct);
    }
    tpmcrb_backend_close(be);
    if (err) {
        LOG_ERROR("%s", strerror(-err));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}
