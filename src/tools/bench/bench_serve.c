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
 *     driver uses, on the shared memory; how long its first step (the
 *     locality request) waited for the device; and, from the debug log of
 *     each timed instance, what woke its device for that first step (the
 *     hub's WAKE, or the device's own watchdog finding a write the hub had
 *     not reported), and from the hub's debug log how late its looks came
 *     meanwhile: a slow first command that the hub woke was slowed by the
 *     host, not by a lost wake-up.
 */
#include "core/regs.h"
#include "tools/tool.h"
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"
#include "tools/bench/bench_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH "serve"
#define DEFAULT_INSTANCES 500u
#define MAX_INSTANCES     2000u
#define DEFAULT_SECONDS   10u
/* Instances whose first command after the idle interval is timed. */
#define DEFAULT_PROBES    20u
#define MAX_PROBES        100u
#define START_TIMEOUT_S   600u
/* Quiet time before the idle interval: the poll threads reach their
 * longest sleep, or hand their devices to the hub. */
#define SETTLE_S          3u
/* How long to wait for every instance to attach to the hub. */
#define ATTACH_TIMEOUT_S  30u

struct instance {
    pid_t pid;
    char path[96];
    char log[104];             /* the debug log of a timed instance, or "" */
    uint8_t *win;
    struct crb_driver drv;
};

/* One pass: N instances polling by themselves, or attached to a hub. */
struct pass {
    const char *name;
    bool hub;
    pid_t hub_pid;
    double cpu_pct, hub_cpu_pct, seconds, other_busy_cores, load;
    unsigned long rss_kib, pss_kib;      /* per instance */
    unsigned long hub_rss_kib, hub_pss_kib;
    unsigned attached;
    double first_p50_us, first_max_us, next_p50_us, next_max_us;
    double wake_p50_us, wake_max_us;     /* the first step of the first command */
    /* What woke the timed devices for their first command, from their logs. */
    unsigned woken_by_hub, found_by_watchdog, hub_gone, polling_alone;
    double watchdog_wake_max_us;         /* first step of those found so */
    unsigned slowest;                    /* the timed instance of first_max_us */
    unsigned hub_late_looks;             /* the hub's looks > 50 ms late, */
    double hub_late_max_ms;              /* while the commands were timed */
    char slowest_wake[160];              /* its log's line about that wake-up */
};

struct serve_bench {
    unsigned n, seconds, probes, load;
    char hub_period[16];       /* serve-hub --period, "" for its default */
    char dir[64], hub_socket[96], hub_log[96];
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

/* Busy and total jiffies of all CPUs of the host (/proc/stat); time stolen
 * by the hypervisor is not the host's work. */
static bool host_jiffies(unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int n;

    if (!f)
        return false;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8)
        return false;
    *busy = v[0] + v[1] + v[2] + v[5] + v[6];
    *total = *busy + v[3] + v[4] + v[7];
    return true;
}

/* Sockets the hub holds besides its listener: devices attached. */
static unsigned hub_devices(pid_t hub)
{
    char path[64], link[64];
    unsigned n = 0;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)hub);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d))) {
        char p[384];
        ssize_t len;

        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        len = readlink(p, link, sizeof(link) - 1);
        if (len > 0 && (link[len] = '\0', !strncmp(link, "socket:", 7)))
            n++;
    }
    closedir(d);
    return n ? n - 1 : 0;
}

static bool create_file(struct serve_bench *b, struct instance *in,
                        unsigned i)
{
    int fd;

    snprintf(in->path, sizeof(in->path), "%s/vm%u", b->dir, i);
    fd = open(in->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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

/* `tpmcrb ARGS...` in a child whose stderr goes to @log (NULL: nowhere);
 * its pid or -1. */
static pid_t spawn(const char *const *args, const char *log)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    pid_t pid;

    if (n <= 0)
        return -1;
    exe[n] = '\0';
    pid = fork();
    if (pid == 0) {
        int out = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600) :
                        open("/dev/null", O_WRONLY);

        if (out >= 0)
            dup2(out, STDERR_FILENO);
        execv(exe, (char *const *)args);
        _exit(127);
    }
    return pid;
}

/* A timed instance (@timed) logs at debug level: what woke its device. */
static bool spawn_instance(struct serve_bench *b, struct pass *ps,
                           struct instance *in, bool timed)
{
    const char *args[] = { "tpmcrb", "--log-level", timed ? "debug" : "warn",
                           "serve", "--shm", in->path, "--offset", "0",
                           ps->hub ? "--hub" : NULL, b->hub_socket, NULL };

    if (timed)
        snprintf(in->log, sizeof(in->log), "%s.log", in->path);
    return (in->pid = spawn(args, timed ? in->log : NULL)) > 0;
}

static bool spawn_hub(struct serve_bench *b, struct pass *ps)
{
    const char *args[] = { "tpmcrb", "--log-level", "debug", "serve-hub",
                           "--socket", b->hub_socket,
                           b->hub_period[0] ? "--period" : NULL, b->hub_period,
                           NULL };
    struct stat st;

    /* Its debug log says when its looks came late (a host not running it). */
    if ((ps->hub_pid = spawn(args, b->hub_log)) <= 0)
        return false;
    for (unsigned i = 0; i < 1000; i++) {
        if (stat(b->hub_socket, &st) == 0)
            return true;
        crb_sleep_ns(10000000);
    }
    LOG_ERROR("the hub did not start");
    return false;
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
static bool start_probes(struct serve_bench *b)
{
    for (unsigned i = 0; i < b->probes; i++) {
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

/* Median and largest of @us[0..n). */
static void p50_max(double *us, unsigned n, double *p50, double *max)
{
    qsort(us, n, sizeof(*us), cmp_double);
    *p50 = us[n / 2];
    *max = us[n - 1];
}

/* Bytes in @path so far (where the log of a command starts); 0 if none. */
static long log_size(const char *path)
{
    struct stat st;

    return path[0] && stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* A log (@path, "" for none) to read from byte @from on; NULL if there is
 * none to read. */
static FILE *open_log_from(const char *path, long from)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;

    if (f && fseek(f, from, SEEK_SET) < 0) {
        fclose(f);
        f = NULL;
    }
    return f;
}

/* What the debug log of a timed instance says, from byte @from on, about
 * the wake-up of its device for the first command: counted in @ps, and
 * the line kept in @line (when not NULL). True when the watchdog found the
 * write: the hub had not reported it (yet: a write in the hub's last
 * period before the watchdog is found so, in time). */
static bool read_wake(const char *path, long from, struct pass *ps, char *line,
                      size_t cap)
{
    static const char *const hub_gone[] = { "the hub went away", "no answer",
                                            "connection lost", "cannot hand over" };
    char buf[512];
    bool seen = false, watchdog = false;
    FILE *f = open_log_from(path, from);

    if (!f)
        return false;
    while (!seen && fgets(buf, sizeof(buf), f)) {
        if (strstr(buf, "woken by the hub")) {
            ps->woken_by_hub++;
            seen = true;
        } else if (strstr(buf, "the watchdog found")) {
            ps->found_by_watchdog++;
            seen = watchdog = true;
        }
        for (unsigned k = 0; !seen && k < sizeof(hub_gone) / sizeof(*hub_gone); k++)
            if (strstr(buf, hub_gone[k])) {
                ps->hub_gone++;
                seen = true;
            }
        if (seen && line) {
            size_t len = strcspn(buf, "\n");

            if (len >= cap)
                len = cap - 1;
            memcpy(line, buf, len);
            line[len] = '\0';
        }
    }
    /* Attached to the hub, a device that logged none of these was not
     * asleep on it: it polled by itself (given up after a slow ACK). */
    if (!seen && ps->hub)
        ps->polling_alone++;
    fclose(f);
    return watchdog;
}

/* The hub's looks that its log says came late, from byte @from on. */
static void read_hub_lateness(const char *path, long from, struct pass *ps)
{
    char buf[512];
    FILE *f = open_log_from(path, from);
    unsigned ms;

    if (!f)
        return;
    while (fgets(buf, sizeof(buf), f)) {
        const char *at = strstr(buf, "a look ");

        if (at && sscanf(at, "a look %u ms late", &ms) == 1) {
            ps->hub_late_looks++;
            if (ms > ps->hub_late_max_ms)
                ps->hub_late_max_ms = ms;
        }
    }
    fclose(f);
}

/* The first step of a command, timed on its own: the locality request,
 * which an idle device must wake up for. The command that follows
 * requests it again, which an assigned locality allows. */
static int first_step(struct crb_driver *d)
{
    uint64_t deadline = crb_now_ns() + 10000000000ull;

    crb_driver_write32(d, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    /* Naps, as the driver's own waits do after a while: a spinning
     * benchmark would take a CPU from the device it waits for. */
    while (!(crb_driver_read32(d, CRB_LOC_STATE) & LOC_STATE_ASSIGNED)) {
        if (crb_now_ns() > deadline)
            return -ETIMEDOUT;
        crb_sleep_ns(20000);
    }
    return 0;
}

/* The first command after the idle interval, and the one right after,
 * on each probed instance. */
static bool time_first_commands(struct serve_bench *b, struct pass *ps)
{
    double first[MAX_PROBES], next[MAX_PROBES], wake[MAX_PROBES], max = -1;
    long from[MAX_PROBES], hub_from = ps->hub ? log_size(b->hub_log) : 0;

    srand((unsigned)crb_now_ns());
    for (unsigned i = 0; i < b->probes; i++) {
        struct crb_driver *d = &b->in[i].drv;
        uint64_t t0, tw, t1, t2;

        /* At a random moment: right after the previous probe, the next
         * would come just after the hub's look (or a coalesced timer) and
         * always wait a whole period. */
        crb_sleep_ns((uint64_t)(rand() % 100) * 1000000ull);
        from[i] = log_size(b->in[i].log);
        t0 = crb_now_ns();
        if (first_step(d) < 0)
            return false;
        tw = crb_now_ns();
        if (command(d, TPM_CC_GetRandom, "\x00\x20", 2) != 0)
            return false;
        t1 = crb_now_ns();
        if (command(d, TPM_CC_GetRandom, "\x00\x20", 2) != 0)
            return false;
        t2 = crb_now_ns();
        first[i] = (double)(t1 - t0) / 1e3;
        wake[i] = (double)(tw - t0) / 1e3;
        next[i] = (double)(t2 - t1) / 1e3;
        if (first[i] > max) {
            max = first[i];
            ps->slowest = i;
        }
    }
    /* The logs once every probe is done: the instances write them at
     * their own pace. */
    crb_sleep_ns(200000000ull);
    for (unsigned i = 0; i < b->probes; i++)
        if (read_wake(b->in[i].log, from[i], ps,
                      i == ps->slowest ? ps->slowest_wake : NULL,
                      sizeof(ps->slowest_wake)) &&
            wake[i] > ps->watchdog_wake_max_us)
            ps->watchdog_wake_max_us = wake[i];
    if (ps->hub)
        read_hub_lateness(b->hub_log, hub_from, ps);
    if (ps->hub && ps->slowest_wake[0] && max <= 200000.0)
        LOG_INFO("%s: the slowest first command (instance %u, %.1f ms) was woken as "
                 "its log says: %s", ps->name, ps->slowest, max / 1e3, ps->slowest_wake);
    if (max > 200000.0)
        LOG_WARN("%s: the first command on instance %u took %.1f ms (its first step "
                 "%.1f ms); the instance's log: %s", ps->name, ps->slowest, max / 1e3,
                 wake[ps->slowest] / 1e3,
                 ps->slowest_wake[0] ? ps->slowest_wake : "(nothing about a wake-up)");
    p50_max(first, b->probes, &ps->first_p50_us, &ps->first_max_us);
    p50_max(wake, b->probes, &ps->wake_p50_us, &ps->wake_max_us);
    p50_max(next, b->probes, &ps->next_p50_us, &ps->next_max_us);
    return true;
}

/* CPU time of every instance (and the hub) over the idle interval. */
static bool measure_cpu(struct serve_bench *b, struct pass *ps)
{
    long long *before = calloc(b->n, sizeof(*before)), total = 0, hub0 = 0, hub1;
    unsigned long long busy0, all0, busy1, all1;
    bool ok = false;
    double t0, t1;

    if (!before)
        return false;
    ps->load = bench_host_load();
    t0 = bench_now();
    if (!host_jiffies(&busy0, &all0))
        goto out;
    for (unsigned i = 0; i < b->n; i++)
        before[i] = cpu_ns(b->in[i].pid);
    if (ps->hub)
        hub0 = cpu_ns(ps->hub_pid);
    sleep(b->seconds);
    for (unsigned i = 0; i < b->n; i++) {
        long long now = cpu_ns(b->in[i].pid);

        if (now < 0 || before[i] < 0) {
            LOG_ERROR("instance %u vanished", i);
            goto out;
        }
        total += now - before[i];
    }
    if (ps->hub) {
        if ((hub1 = cpu_ns(ps->hub_pid)) < 0 || hub0 < 0) {
            LOG_ERROR("the hub vanished");
            goto out;
        }
        total += hub1 - hub0;
        ps->hub_cpu_pct = 100.0 * (double)(hub1 - hub0) / 1e9 / b->seconds;
    }
    if (!host_jiffies(&busy1, &all1) || all1 == all0)
        goto out;
    t1 = bench_now();
    ps->seconds = t1 - t0;
    ps->cpu_pct = 100.0 * (double)total / 1e9 / ps->seconds;
    /* What the rest of the host kept busy meanwhile, in cores. */
    ps->other_busy_cores = (double)(busy1 - busy0) / (double)(all1 - all0) *
                           (double)sysconf(_SC_NPROCESSORS_ONLN) -
                           ps->cpu_pct / 100.0;
    ok = true;
out:
    free(before);
    return ok;
}

static bool measure_memory(struct serve_bench *b, struct pass *ps)
{
    unsigned long rss_sum = 0, pss_sum = 0;

    for (unsigned i = 0; i < b->n; i++) {
        unsigned long rss, pss;

        if (!memory_kib(b->in[i].pid, &rss, &pss))
            return false;
        rss_sum += rss;
        pss_sum += pss;
    }
    ps->rss_kib = rss_sum / b->n;
    ps->pss_kib = pss_sum / b->n;
    return !ps->hub || memory_kib(ps->hub_pid, &ps->hub_rss_kib, &ps->hub_pss_kib);
}

static void teardown(struct serve_bench *b, struct pass *ps)
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
        if (b->in[i].log[0])
            unlink(b->in[i].log);
    }
    memset(b->in, 0, b->n * sizeof(*b->in));
    if (ps->hub_pid > 0) {
        kill(ps->hub_pid, SIGTERM);
        while (waitpid(ps->hub_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        ps->hub_pid = 0;
    }
    unlink(b->hub_socket);
    unlink(b->hub_log);
}

static bool run_pass(struct serve_bench *b, struct pass *ps)
{
    bool ok = false;

    LOG_INFO("%s: starting %u instances ...", ps->name, b->n);
    if (ps->hub && !spawn_hub(b, ps))
        goto out;
    for (unsigned i = 0; i < b->n; i++)
        if (!create_file(b, &b->in[i], i) ||
            !spawn_instance(b, ps, &b->in[i], i < b->probes))
            goto out;
    if (!wait_all_up(b) || !start_probes(b))
        goto out;
    LOG_INFO("%s: all up; idle for %u s, then %u s measured", ps->name,
             SETTLE_S, b->seconds);
    sleep(SETTLE_S);
    /* A device that found the hub too slow to answer (a loaded host) polls
     * by itself and tries again 10 s later: measure once all are attached,
     * or say how many were not. */
    for (unsigned i = 0; ps->hub && i < ATTACH_TIMEOUT_S; i++) {
        if ((ps->attached = hub_devices(ps->hub_pid)) >= b->n)
            break;
        sleep(1);
    }
    ok = measure_cpu(b, ps) && measure_memory(b, ps) &&
         time_first_commands(b, ps);
out:
    teardown(b, ps);
    return ok;
}

static void print_pass(const struct serve_bench *b, const struct pass *ps)
{
    const char *n = ps->name;

    bench_print(BENCH, n, "host_loadavg_1min", 2, ps->load);
    bench_print(BENCH, n, "host_other_busy_cores", 2, ps->other_busy_cores);
    bench_print(BENCH, n, "idle_seconds", 2, ps->seconds);
    bench_print(BENCH, n, "idle_cpu_pct_of_one_core_all_instances", 3, ps->cpu_pct);
    bench_print(BENCH, n, "idle_cpu_pct_of_one_core_per_instance", 5,
                ps->cpu_pct / b->n);
    bench_print(BENCH, n, "rss_kib_per_instance", 0, (double)ps->rss_kib);
    bench_print(BENCH, n, "pss_kib_per_instance", 0, (double)ps->pss_kib);
    bench_print(BENCH, n, "pss_mib_all_instances", 1,
                (double)(ps->pss_kib * b->n + ps->hub_pss_kib) / 1024.0);
    if (ps->hub) {
        bench_print(BENCH, n, "devices_attached_to_hub", 0, ps->attached);
        bench_print(BENCH, n, "hub_process_cpu_pct_of_one_core", 3, ps->hub_cpu_pct);
        bench_print(BENCH, n, "hub_process_rss_kib", 0, (double)ps->hub_rss_kib);
        bench_print(BENCH, n, "hub_process_pss_kib", 0, (double)ps->hub_pss_kib);
    }
    bench_print(BENCH, n, "first_command_after_idle_p50_us", 0, ps->first_p50_us);
    bench_print(BENCH, n, "first_command_after_idle_max_us", 0, ps->first_max_us);
    bench_print(BENCH, n, "first_step_after_idle_p50_us", 0, ps->wake_p50_us);
    bench_print(BENCH, n, "first_step_after_idle_max_us", 0, ps->wake_max_us);
    if (ps->hub) {
        bench_print(BENCH, n, "first_commands_woken_by_hub", 0, ps->woken_by_hub);
        bench_print(BENCH, n, "first_commands_found_by_watchdog", 0,
                    ps->found_by_watchdog);
        bench_print(BENCH, n, "first_step_max_us_of_those_found_by_watchdog", 0,
                    ps->watchdog_wake_max_us);
        bench_print(BENCH, n, "first_commands_after_hub_gone", 0, ps->hub_gone);
        bench_print(BENCH, n, "first_commands_polling_alone", 0, ps->polling_alone);
        bench_print(BENCH, n, "hub_looks_over_50ms_late", 0, ps->hub_late_looks);
        bench_print(BENCH, n, "hub_look_latest_ms", 0, ps->hub_late_max_ms);
    }
    bench_print(BENCH, n, "next_command_p50_us", 0, ps->next_p50_us);
    bench_print(BENCH, n, "next_command_max_us", 0, ps->next_max_us);
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench serve [--instances N] [--seconds S] [--probes P]\n"
"                          [--hub-period MS] [--load N]\n"
"N idle `tpmcrb serve` instances polling by themselves, then N attached to\n"
"an idle hub (tpmcrb serve-hub): CPU, RSS and PSS, first command after idle.\n"
"  --instances N  idle instances (default %u)\n"
"  --seconds S    idle interval measured (default %u)\n"
"  --probes P     instances whose first command after idle is timed\n"
"                 (default %u)\n"
"  --hub-period MS  the hub's --period (default: the hub's)\n"
"  --load N       both passes again beside N busy loops (one pinned per CPU\n"
"                 in turn); keys of those passes start with serve.loaded.\n",
            DEFAULT_INSTANCES, DEFAULT_SECONDS, DEFAULT_PROBES);
}

static int parse(int argc, char **argv, struct serve_bench *b)
{
    static const struct option opts[] = {
        { "instances", required_argument, NULL, 'n' },
        { "seconds", required_argument, NULL, 's' },
        { "probes", required_argument, NULL, 'p' },
        { "hub-period", required_argument, NULL, 'P' },
        { "load", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned period = 0;
    bool ok = true;
    int opt;

    b->n = DEFAULT_INSTANCES;
    b->seconds = DEFAULT_SECONDS;
    b->probes = DEFAULT_PROBES;
    optind = 1;
    while (ok && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n': ok = parse_unsigned(optarg, 1, MAX_INSTANCES, &b->n); break;
        case 's': ok = parse_unsigned(optarg, 1, 3600, &b->seconds); break;
        case 'p': ok = parse_unsigned(optarg, 1, MAX_PROBES, &b->probes); break;
        case 'l': ok = parse_unsigned(optarg, 0, BENCH_MAX_LOAD, &b->load); break;
        case 'P':
            ok = parse_unsigned(optarg, 1, 100, &period);
            snprintf(b->hub_period, sizeof(b->hub_period), "%u", period);
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: ok = false;
        }
    }
    if (!ok || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (b->probes > b->n)
        b->probes = b->n;
    return -1;
}

/* The same instances polling by themselves, then attached to a hub; the
 * pass names start with @prefix ("" or "loaded."). */
static bool run_pair(struct serve_bench *b, const char *prefix)
{
    char alone_name[32], hub_name[32], key[96];
    struct pass alone = { .name = alone_name },
                hub = { .name = hub_name, .hub = true };

    snprintf(alone_name, sizeof(alone_name), "%salone", prefix);
    snprintf(hub_name, sizeof(hub_name), "%shub", prefix);
    if (!run_pass(b, &alone) || !run_pass(b, &hub))
        return false;
    print_pass(b, &alone);
    print_pass(b, &hub);
    snprintf(key, sizeof(key), "%sidle_cpu_ratio_hub_to_alone", prefix);
    bench_print(BENCH, NULL, key, 3, hub.cpu_pct / alone.cpu_pct);
    snprintf(key, sizeof(key), "%sfirst_command_after_idle_p50_ratio_hub_to_alone", prefix);
    bench_print(BENCH, NULL, key, 2, hub.first_p50_us / alone.first_p50_us);
    return true;
}

int bench_serve(int argc, char **argv)
{
    struct serve_bench b = { 0 };
    struct bench_load load = { 0 };
    bool ok = false;
    int rc = parse(argc, argv, &b);

    if (rc >= 0)
        return rc;
    tpmcrb_config_init(&b.cfg);
    b.win_len = tpmcrb_window_size(&b.cfg);
    /* The hub watches shared memory files only: tmpfs. */
    strcpy(b.dir, "/dev/shm/tpmcrb-bench-serve.XXXXXX");
    if (!mkdtemp(b.dir)) {
        LOG_ERROR("mkdtemp: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    snprintf(b.hub_socket, sizeof(b.hub_socket), "%s/hub", b.dir);
    snprintf(b.hub_log, sizeof(b.hub_log), "%s/hub.log", b.dir);
    if (!(b.in = calloc(b.n, sizeof(*b.in)))) {
        rmdir(b.dir);
        return EXIT_RUNTIME;
    }
    bench_print_host_cpus(BENCH);
    bench_print(BENCH, NULL, "host_loadavg_1min_at_start", 2, bench_host_load());
    bench_print(BENCH, NULL, "instances", 0, b.n);
    bench_print(BENCH, NULL, "probes", 0, b.probes);
    ok = run_pair(&b, "");
    if (ok && b.load) {
        bench_print(BENCH, NULL, "loaded.busy_loops", 0, b.load);
        ok = bench_load_start(&load, b.load) && run_pair(&b, "loaded.");
        bench_load_stop(&load);
    }
    rmdir(b.dir);
    free(b.in);
    return ok ? EXIT_OK : EXIT_RUNTIME;
}
