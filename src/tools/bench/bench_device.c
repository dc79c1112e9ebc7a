/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench device`: what the device costs on top of the backend, for
 * each transport, side by side in one run: TPM2_GetRandom through the full
 * Linux-style CRB protocol against calling the embedded libtpms backend
 * directly, and how often the response is there at the first status read.
 * With --load N the same modes run again beside N busy loops that the
 * benchmark starts itself, so that idle and loaded figures come from one
 * run. Every command is timed: the median and the tail say more under load
 * than a mean does.
 */
#include "tools/tool.h"
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"
#include "tools/bench/bench_load.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH "device"
#define DEFAULT_COUNT   20000u
#define DEFAULT_SECONDS 3u

struct mode {
    const char *name;
    enum tpmcrb_layout layout;
    uint32_t bound_us;
    bool full_trap, shared_memory;
    bool worker_only;   /* no fast path: every command to the worker */
};

static const struct mode modes[] = {
    { "rom_split",        TPMCRB_LAYOUT_SPLIT,  TPMCRB_SYNC_BOUND_DEFAULT_US, false, false, false },
    { "rom_split_worker", TPMCRB_LAYOUT_SPLIT,  TPMCRB_SYNC_BOUND_DEFAULT_US, false, false, true  },
    { "rom_split_async",  TPMCRB_LAYOUT_SPLIT,  0,                            false, false, false },
    { "rom_compat",       TPMCRB_LAYOUT_COMPAT, TPMCRB_SYNC_BOUND_DEFAULT_US, false, false, false },
    { "full_trap",        TPMCRB_LAYOUT_COMPAT, TPMCRB_SYNC_BOUND_DEFAULT_US, true,  false, false },
    { "poll",             TPMCRB_LAYOUT_SPLIT,  0,                            false, true,  false },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

struct options {
    unsigned count;     /* commands per mode, at most */
    unsigned seconds;   /* per mode, at most */
    unsigned load;      /* busy loops for the loaded pass; 0: no such pass */
    const char *only;   /* run only this mode (NULL: all) */
};

/* Per-command times of one mode in one pass, sorted. */
struct timings {
    uint64_t *ns;
    unsigned n;
    double mean_us;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double percentile_us(const struct timings *t, double p)
{
    unsigned i = (unsigned)(p * (t->n - 1) + 0.5);

    return (double)t->ns[i] / 1e3;
}

/* "BENCH device.[PASS.]NAME.KEY=VALUE" */
static void print_key(const char *pass, const char *name, const char *key,
                      int digits, double value)
{
    char n[64];

    snprintf(n, sizeof(n), "%s%s%s", pass ? pass : "", pass ? "." : "", name);
    bench_print(BENCH, n, key, digits, value);
}

static void print_timings(const char *pass, const char *name,
                          struct timings *t)
{
    print_key(pass, name, "commands", 0, t->n);
    print_key(pass, name, "us_per_command", 2, t->mean_us);
    print_key(pass, name, "commands_per_s", 0, 1e6 / t->mean_us);
    print_key(pass, name, "p50_us", 2, percentile_us(t, 0.50));
    print_key(pass, name, "p99_us", 2, percentile_us(t, 0.99));
    print_key(pass, name, "max_us", 2, percentile_us(t, 1.0));
}

static uint32_t getrandom_cmd(uint8_t *buf)
{
    return tpm_build_command(buf, 64, TPM_CC_GetRandom,
                             (const uint8_t *)"\x00\x20", 2);
}

/* Runs commands until @o's count or time is up; false on a failure. */
static bool timed_loop(const struct options *o, struct timings *t,
                       int (*one)(void *opaque), void *opaque)
{
    uint64_t start = crb_now_ns(), end = start + o->seconds * 1000000000ull;
    uint64_t prev = start;

    t->n = 0;
    while (t->n < o->count && prev < end) {
        uint64_t now;

        if (one(opaque) != 0)
            return false;
        now = crb_now_ns();
        t->ns[t->n++] = now - prev;
        prev = now;
    }
    t->mean_us = (double)(prev - start) / 1e3 / t->n;
    qsort(t->ns, t->n, sizeof(t->ns[0]), cmp_u64); /* for the percentiles */
    return true;
}

struct direct_call {
    struct tpmcrb_backend *be;
    uint8_t cmd[64], rsp[4096];
    uint32_t len;
};

static int direct_one(void *opaque)
{
    struct direct_call *c = opaque;
    uint32_t rlen;

    return c->be->ops->execute(c->be, 0, c->cmd, c->len, c->rsp,
                               sizeof(c->rsp), &rlen) < 0 ? -1 : 0;
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

static int device_one(void *opaque)
{
    int rc = send(opaque, TPM_CC_GetRandom, (const uint8_t *)"\x00\x20", 2);

    if (rc > 0) {
        char text[CRB_RC_TEXT_MAX];

        LOG_ERROR("TPM2_GetRandom failed with rc %s",
                  crb_rc_text((uint32_t)rc, text, sizeof(text)));
    }
    return rc;
}

/* libtpms called directly, inside a device that powered it on. */
static int run_direct(struct tpmcrb_backend *be, const struct options *o,
                      struct timings *t)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct crb_driver d = { 0 };
    struct direct_call c = { .be = be };
    bool ok;

    tpmcrb_config_init(&cfg);
    if (tpmcrb_device_new(&cfg, be, &dev) < 0)
        return -EIO;
    crb_driver_init(&d, dev, 0);
    if (!tpmcrb_device_tpm_resumed(dev))
        send(&d, TPM_CC_Startup, (const uint8_t *)"\0\0", 2);
    c.len = getrandom_cmd(c.cmd);
    ok = timed_loop(o, t, direct_one, &c);
    tpmcrb_device_free(dev);
    return ok ? 0 : -EIO;
}

/* Commands through one device in @m; prints its lines. */
static int run_mode(struct tpmcrb_backend *be, const struct mode *m,
                    const struct options *o, const char *pass,
                    const struct timings *direct, struct timings *t)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller = NULL;
    struct crb_driver d = { .full_trap = m->full_trap,
                            .shared_memory = m->shared_memory };
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;
    int err;

    tpmcrb_config_init(&cfg);
    cfg.layout = m->layout;
    cfg.sync_bound_us = m->bound_us;
    cfg.fast_path = !m->worker_only;
    if ((err = tpmcrb_device_new(&cfg, be, &dev)) < 0)
        return err;
    if (m->shared_memory && (err = tpmcrb_poller_start(dev, &poller)) < 0)
        goto out;
    crb_driver_init(&d, dev, 0);
    if (!tpmcrb_device_tpm_resumed(dev))
        send(&d, TPM_CC_Startup, (const uint8_t *)"\0\0", 2);
    d.sent = d.ready_at_first_read = 0;
    if (!timed_loop(o, t, device_one, &d)) {
        err = -EPROTO;
        goto out;
    }
    tpmcrb_get_stats(dev, &st);
    print_timings(pass, m->name, t);
    /* The medians' ratio is the device's cost; the means' also carries
     * every preemption of this thread, which a loaded host adds to both. */
    print_key(pass, m->name, "ratio_to_direct", 2, t->mean_us / direct->mean_us);
    print_key(pass, m->name, "p50_ratio_to_direct", 2,
              percentile_us(t, 0.50) / percentile_us(direct, 0.50));
    print_key(pass, m->name, "ready_at_first_read_pct", 1,
              100.0 * d.ready_at_first_read / d.sent);
    print_key(pass, m->name, "register_writes_per_command", 1,
              (double)st.writes / st.commands);
    print_key(pass, m->name, "ran_on_start_thread_pct", 1,
              100.0 * (double)st.ran_on_start_thread / st.commands);
out:
    tpmcrb_poller_stop(poller);
    tpmcrb_device_free(dev);
    return err;
}

/* Every mode once, and the direct call before each (the backend's own
 * speed moves with the machine too). @pass names the keys (NULL: idle). */
static int run_pass(struct tpmcrb_backend *be, const struct options *o,
                    const char *pass, uint64_t *buf)
{
    struct timings direct = { .ns = buf }, t = { .ns = buf + o->count };
    int err = 0;

    bool first = true;

    for (size_t i = 0; i < NMODES && !err; i++) {
        if (o->only && strcmp(o->only, modes[i].name))
            continue;
        if ((err = run_direct(be, o, &direct)) < 0)
            break;
        if (first)
            print_timings(pass, "direct", &direct);
        first = false;
        err = run_mode(be, &modes[i], o, pass, &direct, &t);
    }
    if (first && !err) {
        LOG_ERROR("no mode named %s", o->only);
        err = -EINVAL;
    }
    return err;
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench device [--count N] [--seconds S] [--load N] [--only MODE]\n"
"                           [COUNT]\n"
"  --count N    commands per mode, at most (default %u)\n"
"  --seconds S  time per mode, at most (default %u)\n"
"  --load N     run every mode again beside N busy loops (one pinned per\n"
"               CPU in turn); keys of that pass start with device.loaded.\n"
"  --only MODE  one of rom_split, rom_split_worker, rom_split_async,\n"
"               rom_compat, full_trap, poll\n",
            DEFAULT_COUNT, DEFAULT_SECONDS);
}

static int parse(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        { "count", required_argument, NULL, 'c' },
        { "seconds", required_argument, NULL, 's' },
        { "load", required_argument, NULL, 'l' },
        { "only", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    bool ok = true;

    *o = (struct options){ DEFAULT_COUNT, DEFAULT_SECONDS, 0, NULL };
    optind = 1;
    while (ok && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': ok = parse_unsigned(optarg, 1, 10000000, &o->count); break;
        case 's': ok = parse_unsigned(optarg, 1, 600, &o->seconds); break;
        case 'l': ok = parse_unsigned(optarg, 0, BENCH_MAX_LOAD, &o->load); break;
        case 'o': o->only = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: ok = false;
        }
    }
    /* The count may also come as the one positional argument. */
    if (ok && optind == argc - 1)
        ok = parse_unsigned(argv[optind++], 1, 10000000, &o->count);
    if (!ok || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int bench_device(int argc, char **argv)
{
    struct tpmcrb_backend *be;
    struct bench_load load = { 0 };
    struct options o;
    uint64_t *buf;
    int err, rc = parse(argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (!(buf = calloc(2 * (size_t)o.count, sizeof(*buf))))
        return EXIT_RUNTIME;
    if (tpmcrb_backend_open("libtpms", NULL, &be) < 0) {
        free(buf);
        return EXIT_RUNTIME;
    }
    bench_print_host_cpus(BENCH);
    bench_print(BENCH, NULL, "host_loadavg_1min_at_start", 2, bench_host_load());
    err = run_pass(be, &o, NULL, buf);
    if (!err && o.load) {
        bench_print(BENCH, NULL, "loaded.busy_loops", 0, o.load);
        if (!bench_load_start(&load, o.load))
            err = -ECHILD;
        else
            err = run_pass(be, &o, "loaded", buf);
        bench_load_stop(&load);
    }
    tpmcrb_backend_close(be);
    free(buf);
    if (err) {
        LOG_ERROR("%s", strerror(-err));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}
