/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Soak: many commands (100,000 by default) through the whole CRB protocol
 * to the embedded libtpms, with a snapshot save + load and a pause/resume
 * every few thousand, checking every response code. Prints BENCH lines
 * with the resident set size after warm-up and at the end, and fails when
 * it grew by more than --max-growth-kb. Run short under valgrind, it is
 * the leak check of the command and snapshot paths.
 */
#include "tools/cli/crb_driver.h"
#include "util/tpm_cmd.h"
#include "tpm_commands.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct soak {
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct crb_driver drv;
    uint8_t cmd[4096], rsp[4096];
    unsigned long commands, snapshots;
};

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send s->cmd; the TPM must answer TPM_RC_SUCCESS. */
static int transmit(struct soak *s, uint32_t len, const char *what)
{
    uint32_t rsp_len = 0;
    int err = crb_driver_transmit(&s->drv, s->cmd, len, s->rsp,
                                  sizeof(s->rsp), &rsp_len);

    s->commands++;
    if (err < 0) {
        fprintf(stderr, "soak: %s: %s\n", what, strerror(-err));
        return err;
    }
    if (tpm_hdr_code(s->rsp) != TPM_RC_SUCCESS) {
        fprintf(stderr, "soak: %s: TPM rc %#x\n", what, tpm_hdr_code(s->rsp));
        return -EPROTO;
    }
    return 0;
}

/* One round of the mix; returns 0 or the first failure. */
static int round_of_commands(struct soak *s, unsigned i)
{
    uint32_t handle;
    int err;

    switch (i % 5) {
    case 0:
        return transmit(s, tc_get_random(s->cmd, 32), "GetRandom");
    case 1:
        return transmit(s, tc_get_capability(s->cmd, TPM_CAP_TPM_PROPERTIES,
                                             TPM_PT_FIXED, 8), "GetCapability");
    case 2:
        return transmit(s, tc_pcr_read(s->cmd, 0xFF), "PCR_Read");
    case 3:
        return transmit(s, tc_pcr_extend(s->cmd, 16, (uint8_t)i), "PCR_Extend");
    default:
        /* An object made and flushed: the TPM's slots must not fill up. */
        if ((err = transmit(s, tc_hash_sequence_start(s->cmd),
                            "HashSequenceStart")) < 0)
            return err;
        handle = tpm_be32(s->rsp + TPM_HEADER_SIZE);
        return transmit(s, tc_flush_context(s->cmd, handle), "FlushContext");
    }
}

/* What a migration does to the device, into the same device. */
static int snapshot_cycle(struct soak *s)
{
    uint8_t *blob;
    size_t len;
    int err;

    if ((err = tpmcrb_device_pause(s->dev, 10000)) < 0 ||
        (err = tpmcrb_snapshot_save(s->dev, &blob, &len)) < 0)
        return err;
    err = tpmcrb_snapshot_load(s->dev, blob, len);
    free(blob);
    tpmcrb_device_resume(s->dev);
    s->snapshots++;
    return err;
}

static int open_soak(struct soak *s)
{
    const struct tpmcrb_backend_options opts = { .size = sizeof(opts) };
    struct tpmcrb_config cfg;
    int err;

    tpmcrb_config_init(&cfg);
    if ((err = tpmcrb_backend_open("libtpms", &opts, &s->be)) < 0)
        return err;
    if ((err = tpmcrb_device_new(&cfg, s->be, &s->dev)) < 0)
        return err;
    if ((err = crb_driver_init(&s->drv, s->dev, 0)) < 0)
        return err;
    return transmit(s, tc_startup(s->cmd, TPM_SU_CLEAR), "Startup");
}

static unsigned long arg_value(int argc, char **argv, const char *name,
                               unsigned long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtoul(argv[i + 1], NULL, 0);
    return def;
}

int main(int argc, char **argv)
{
    unsigned long n = arg_value(argc, argv, "--commands", 100000);
    unsigned long every = arg_value(argc, argv, "--snapshot-every", 5000);
    long max_growth = (long)arg_value(argc, argv, "--max-growth-kb", 2048);
    unsigned long warmup = n / 10, counted = 0;
    static struct soak s;
    long rss_start = 0, rss_end;
    double t0 = 0, t1;
    int err = open_soak(&s);

    for (unsigned i = 0; err == 0 && s.commands < n; i++) {
        if (i == warmup) {
            rss_start = rss_kb();
            t0 = now_s();
            counted = s.commands;
        }
        err = round_of_commands(&s, i);
        if (err == 0 && every && i % every == every - 1)
            err = snapshot_cycle(&s);
    }
    t1 = now_s();
    rss_end = rss_kb();
    tpmcrb_device_free(s.dev);
    tpmcrb_backend_close(s.be);
    if (err < 0) {
        fprintf(stderr, "soak: failed after %lu commands: %s\n", s.commands,
                strerror(-err));
        return 1;
    }
    printf("BENCH soak.commands=%lu\nBENCH soak.snapshots=%lu\n", s.commands,
           s.snapshots);
    printf("BENCH soak.commands_per_s=%.0f\n",
           (double)(s.commands - counted) / (t1 - t0));
    printf("BENCH soak.rss_start_kb=%ld\nBENCH soak.rss_end_kb=%ld\n"
           "BENCH soak.rss_growth_kb=%ld\n", rss_start, rss_end,
           rss_end - rss_start);
    if (rss_end - rss_start > max_growth) {
        fprintf(stderr, "soak: RSS grew by %ld KiB (limit %ld)\n",
                rss_end - rss_start, max_growth);
        return 1;
    }
    return 0;
}
