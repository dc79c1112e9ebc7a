/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench serve`: what idle poll-mode instances cost a host. Starts
 * N `tpmcrb serve` processes, each on its own shared memory file (as N
 * VMs would), waits until every device is up and then quiet, and reports:
 *   - the CPU time all of them used together over the idle interval, as a
 *     percentage of one core (the sum over every thread of every instance,
 *     from /proc/PID/task/TID/schedstat: nanoseconds, not clock ticks);
 *   - memory per instance as RSS and as PSS (/proc/PID/smaps_rollup): the
 *     shared libraries count fully in every RSS but are divided among the
 *     processes that map them in PSS, which is what N instances add up to;
 *   - what the first command after the idle interval costs (the poll
 *     thread may be asleep in its back-off) against the next command right
 *     after it, on a few instances, through the same CRB protocol a guest
 *     driver uses, on the shared memory.
 */
#include "tools/tool.h"
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH "serve"
#define DEFAULT_INSTANCES 100u
#define MAX_INSTANCES     2000u
#define DEFAULT_SECONDS   10u
/* Instances whose first command after the idle interval is timed. */
#define PROBES            10u
#define START_TIMEOUT_S   300u
/* Quiet time before the idle interval: the poll threads reach their
 * longest sleep. */
#define SETTLE_S          3u

struct instance {
    pid_t pid;
    char path[96];
    uint8_t *win;
    struct crb_driver drv;
};

struct serve_bench {
    unsigned n, seconds;
    char dir[64];
    struct tpmcrb_config cfg;
    size_t win_len;
    struct instance *in;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nanoseconds on a CPU, summed over the threads of @pid; -1 if gone. */
static long long cpu_ns(pid_t pid)
{
    char path[64];
    long long sum = 0;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d))) {
        char p[384];
        unsigned long long ns;
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s/schedstat", path, e->d_name);
        if ((f = fopen(p, "r"))) {
            if (fscanf(f, "%llu", &ns) == 1)
                sum += (long long)ns;
            fclose(f);
        }
    }
    closedir(d);
    return sum;
}

/* Rss and Pss of @pid in KiB; false if unreadable. */
static bool memory_kib(pid_t pid, unsigned long *rss, unsigned long *pss)
{
    char path[64], line[256];
    bool got_rss = false, got_pss = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    if (!(f = fopen(path, "r")))
        return false;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Rss: %lu kB", rss) == 1)
            got_rss = true;
        else if (sscanf(line, "Pss: %lu kB", pss) == 1)
            got_pss = true;
    }
    fclose(f);
    return got_rss && got_pss;
}

static bool create_file(struct serve_bench *b, struct instance *in,
                        unsigned i)
{
    int fd;

    snprintf(in->path, sizeof(in->path), "%s/vm%u", b->dir, i);
    fd = open(in->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)b->win_len) < 0) {
        LOG_ERROR("%s: %s", in->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    in->win = mmap(NULL, b->win_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (in->win == MAP_FAILED) {
        in->win = NULL;
        LOG_ERROR("mmap: %s", strerror(errno));
        return false;
    }
    return true;
}

static bool spawn(struct instance *in)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return false;
    exe[n] = '\0';
    in->pid = fork();
    if (in->pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0)
            dup2(null, STDERR_FILENO);
        execl(exe, "tpmcrb", "serve", "--shm", in->path, "--offset", "0",
              (char *)NULL);
        _exit(127);
    }
    return in->pid > 0;
}

/* A device is up once it published its interface ID. */
static bool is_up(const struct instance *in)
{
    return __atomic_load_n((const uint32_t *)(in->win + TPMCRB_REG_INTF_ID_LO),
                           __ATOMIC_ACQUIRE) != 0;
}

static bool wait_all_up(struct serve_bench *b)
{
    uint64_t deadline = crb_now_ns() + START_TIMEOUT_S * 1000000000ull;

    for (unsigned i = 0; i < b->n; i++) {
        while (!is_up(&b->in[i])) {
            int status;

            if (waitpid(b->in[i].pid, &status, WNOHANG) == b->in[i].pid) {
                b->in[i].pid = 0;
                LOG_ERROR("instance %u exited", i);
                return false;
            }
            if (crb_now_ns() > deadline) {
                LOG_ERROR("instance %u did not start", i);
                return false;
            }
            crb_sleep_ns(1000000);
        }
    }
    return true;
}

static int command(struct crb_driver *d, uint32_t code, const char *params,
                   uint32_t plen)
{
    uint8_t cmd[64], rsp[4096];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), code,
                                     (const uint8_t *)params, plen), rlen;
    int err = crb_driver_transmit(d, cmd, len, rsp, sizeof(rsp), &rlen);

    return err < 0 ? err : (int)tpm_hdr_code(rsp);
}

/* Start the TPMs that are timed later, so that their first timed command
 * is an ordinary one. */
static bool start_probes(struct serve_bench *b, unsigned probes)
{
    for (unsigned i = 0; i < probes; i++) {
        struct instance *in = &b->in[i];

        if (crb_driver_init_shared(&in->drv, in->win,
                                   in->win + tpmcrb_regs_size(&b->cfg),
                                   &b->cfg, 0) < 0 ||
            command(&in->drv, TPM_CC_Startup, "\0\0", 2) != 0) {
            LOG_ERROR("instance %u does not answer", i);
            return false;
        }
    }
    return true;
}

static void print_latencies(const char *key, double *us, unsigned n)
{
    char k[64];

    qsort(us, n, sizeof(*us), cmp_double);
    snprintf(k, sizeof(k), "%s_p50_us", key);
    bench_print(BENCH, NULL, k, 1, us[n / 2]);
    snprintf(k, sizeof(k), "%s_max_us", key);
    bench_print(BENCH, NULL, k, 1, us[n - 1]);
}

/* The first command after the idle interval, and the one right after. */
static bool time_first_commands(struct serve_bench *b, unsigned probes)
{
    double first[PROBES], next[PROBES];

    for (unsigned i = 0; i < probes; i++) {
        struct crb_driver *d = &b->in[i].drv;
        uint64_t t0 = crb_now_ns(), t1, t2;

        if (command(d, TPM_CC_GetRandom, "\x00\x20", 2) != 0)
            return false;
        t1 = crb_now_ns();
        if (command(d, TPM_CC_GetRandom, "\x00\x20", 2) != 0)
            return false;
        t2 = crb_now_ns();
        first[i] = (double)(t1 - t0) / 1e3;
        next[i] = (double)(t2 - t1) / 1e3;
    }
    print_latencies("first_command_after_idle", first, probes);
    print_latencies("next_command", next, probes);
    return true;
}

static bool measure(struct serve_bench *b)
{
    unsigned probes = b->n < PROBES ? b->n : PROBES;
    long long *before = calloc(b->n, sizeof(*before)), total = 0;
    unsigned long rss_sum = 0, pss_sum = 0;
    double t0, t1;
    bool ok = false;

    if (!before)
        return false;
    if (!start_probes(b, probes))
        goto out;
    sleep(SETTLE_S);
    t0 = bench_now();
    for (unsigned i = 0; i < b->n; i++)
        before[i] = cpu_ns(b->in[i].pid);
    sleep(b->seconds);
    for (unsigned i = 0; i < b->n; i++) {
        long long now = cpu_ns(b->in[i].pid);

        if (now < 0 || before[i] < 0) {
            LOG_ERROR("instance %u vanished", i);
            goto out;
        }
        total += now - before[i];
    }
    t1 = bench_now();
    for (unsigned i = 0; i < b->n; i++) {
        unsigned long rss, pss;

        if (!memory_kib(b->in[i].pid, &rss, &pss))
            goto out;
        rss_sum += rss;
        pss_sum += pss;
    }
    bench_print(BENCH, NULL, "instances", 0, b->n);
    bench_print(BENCH, NULL, "idle_seconds", 2, t1 - t0);
    bench_print(BENCH, NULL, "idle_cpu_pct_of_one_core_all_instances", 3,
                100.0 * (double)total / 1e9 / (t1 - t0));
    bench_print(BENCH, NULL, "idle_cpu_pct_of_one_core_per_instance", 5,
                100.0 * (double)total / 1e9 / (t1 - t0) / b->n);
    bench_print(BENCH, NULL, "rss_kib_per_instance", 0, (double)rss_sum / b->n);
    bench_print(BENCH, NULL, "pss_kib_per_instance", 0, (double)pss_sum / b->n);
    bench_print(BENCH, NULL, "pss_mib_all_instances", 1, pss_sum / 1024.0);
    ok = time_first_commands(b, probes);
out:
    free(before);
    return ok;
}

static void teardown(struct serve_bench *b)
{
    for (unsigned i = 0; i < b->n; i++)
        if (b->in[i].pid > 0)
            kill(b->in[i].pid, SIGTERM);
    for (unsigned i = 0; i < b->n; i++) {
        if (b->in[i].pid > 0)
            while (waitpid(b->in[i].pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (b->in[i].win)
            munmap(b->in[i].win, b->win_len);
        if (b->in[i].path[0])
            unlink(b->in[i].path);
    }
    rmdir(b->dir);
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench serve [--instances N] [--seconds S]\n"
"  --instances N  idle `tpmcrb serve` processes (default %u)\n"
"  --seconds S    idle interval measured (default %u)\n",
            DEFAULT_INSTANCES, DEFAULT_SECONDS);
}

static int parse(int argc, char **argv, struct serve_bench *b)
{
    static const struct option opts[] = {
        { "instances", required_argument, NULL, 'n' },
        { "seconds", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool ok = true;
    int opt;

    b->n = DEFAULT_INSTANCES;
    b->seconds = DEFAULT_SECONDS;
    optind = 1;
    while (ok && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n': ok = parse_unsigned(optarg, 1, MAX_INSTANCES, &b->n); break;
        case 's': ok = parse_unsigned(optarg, 1, 3600, &b->seconds); break;
        case 'h': usage(stdout); return EXIT_OK;
        default: ok = false;
        }
    }
    if (!ok || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int bench_serve(int argc, char **argv)
{
    struct serve_bench b = { 0 };
    bool ok = false;
    int rc = parse(argc, argv, &b);

    if (rc >= 0)
        return rc;
    tpmcrb_config_init(&b.cfg);
    b.win_len = tpmcrb_window_size(&b.cfg);
    strcpy(b.dir, "/dev/shm/tpmcrb-bench-serve.XXXXXX");
    if (!mkdtemp(b.dir)) {
        LOG_ERROR("mkdtemp: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (!(b.in = calloc(b.n, sizeof(*b.in)))) {
        rmdir(b.dir);
        return EXIT_RUNTIME;
    }
    bench_print_host_cpus(BENCH);
    bench_print(BENCH, NULL, "host_loadavg_1min_at_start", 2, bench_host_load());
    LOG_INFO("starting %u instances ...", b.n);
    for (unsigned i = 0; i < b.n; i++)
        if (!create_file(&b, &b.in[i], i) || !spawn(&b.in[i]))
            goto out;
    if (!wait_all_up(&b))
        goto out;
    LOG_INFO("all up; idle for %u s, then %u s measured",
            SETTLE_S, b.seconds);
    ok = measure(&b);
out:
    teardown(&b);
    free(b.in);
    return ok ? EXIT_OK : EXIT_RUNTIME;
}
