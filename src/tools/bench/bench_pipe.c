/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench pipe`: what a TSS tool call through `tpmcrb pipe` costs.
 *   - start-up: exec `tpmcrb pipe --state DIR` on a saved state, time to the
 *     first response (median of N runs), and the time to exit after EOF;
 *   - commands/s through one long-lived pipe (TPM2_GetRandom), with and
 *     without a state directory;
 *   - commands/s calling libtpms directly (TPMLIB_Process), same run, and
 *     the ratio;
 *   - the per-command state save of PER_COMMAND mode, measured at the
 *     backend, and what an fsync of the volatile state would add.
 */
#include "backend/state_store.h"
#include "tools/tool.h"
#include "tools/bench/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libtpms/tpm_library.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define BUF 4096u

struct child {
    pid_t pid;
    int to, from;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint32_t get_random_cmd(uint8_t *buf)
{
    uint8_t param[2];

    tpm_put_be16(param, 16);
    return tpm_build_command(buf, BUF, TPM_CC_GetRandom, param, sizeof(param));
}

/* ------------------------------------------------------ child processes */

static int spawn_pipe(const char *exe, const char *state_dir, struct child *c)
{
    int in[2], out[2];

    if (pipe(in) < 0)
        return -errno;
    if (pipe(out) < 0) {
        close(in[0]);
        close(in[1]);
        return -errno;
    }
    c->pid = fork();
    if (c->pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        if (state_dir)
            execl(exe, exe, "pipe", "--state", state_dir, (char *)NULL);
        else
            execl(exe, exe, "pipe", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
    if (c->pid < 0) {
        close(c->to);
        close(c->from);
        return -errno;
    }
    return 0;
}

static int finish_child(struct child *c)
{
    int status;

    close(c->to);
    close(c->from);
    if (waitpid(c->pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = read(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One command to the child and its response; returns the response code. */
static int64_t roundtrip(struct child *c, const uint8_t *cmd, uint32_t len)
{
    uint8_t rsp[BUF];
    uint32_t size;

    if (write(c->to, cmd, len) != (ssize_t)len ||
        read_all(c->from, rsp, TPM_HEADER_SIZE) < 0)
        return -EIO;
    size = tpm_hdr_size(rsp);
    if (size < TPM_HEADER_SIZE || size > BUF ||
        read_all(c->from, rsp + TPM_HEADER_SIZE, size - TPM_HEADER_SIZE) < 0)
        return -EIO;
    return tpm_hdr_code(rsp);
}

/* exec to first response, and EOF to exit, for one `pipe` on @dir. */
static int time_one_start(const char *exe, const char *dir, double *first,
                          double *exit_time)
{
    uint8_t cmd[BUF];
    uint32_t len = get_random_cmd(cmd);
    struct child c;
    double t0 = now_s(), t1;
    int err;

    if ((err = spawn_pipe(exe, dir, &c)) < 0)
        return err;
    if (roundtrip(&c, cmd, len) != TPM_RC_SUCCESS) {
        finish_child(&c);
        return -EIO;
    }
    t1 = now_s();
    err = finish_child(&c);
    *first = t1 - t0;
    *exit_time = now_s() - t1;
    return err;
}

/* Median time to run `tpmcrb --version`: what exec and dynamic linking
 * cost on this machine, without any TPM. */
static double exec_baseline(const char *exe, unsigned runs)
{
    double *t = calloc(runs, sizeof(double)), m;

    if (!t)
        return 0;
    for (unsigned i = 0; i < runs; i++) {
        double t0 = now_s();
        pid_t pid = fork();
        int status;

        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);

            dup2(null, STDOUT_FILENO);
            execl(exe, exe, "--version", (char *)NULL);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        t[i] = now_s() - t0;
    }
    m = median(t, runs);
    free(t);
    return m;
}

static int bench_startup(const char *exe, const char *dir, unsigned runs)
{
    double *first = calloc(runs, sizeof(double));
    double *exits = calloc(runs, sizeof(double));
    double min = 1e9;
    int err = -ENOMEM;

    if (!first || !exits)
        goto out;
    /* The first run creates the state (manufacture + TPM2_Startup). */
    if ((err = time_one_start(exe, dir, &first[0], &exits[0])) < 0)
        goto out;
    for (unsigned i = 0; i < runs; i++) {
        if ((err = time_one_start(exe, dir, &first[i], &exits[i])) < 0)
            goto out;
        if (first[i] < min)
            min = first[i];
    }
    printf("BENCH pipe_startup_runs=%u\n", runs);
    printf("BENCH exec_baseline_ms=%.3f\n", exec_baseline(exe, runs) * 1e3);
    printf("BENCH pipe_startup_ms=%.3f\n", median(first, runs) * 1e3);
    printf("BENCH pipe_startup_ms_min=%.3f\n", min * 1e3);
    printf("BENCH pipe_exit_ms=%.3f\n", median(exits, runs) * 1e3);
out:
    free(first);
    free(exits);
    return err;
}

/* Commands/s through one long-lived pipe. */
static int bench_throughput(const char *exe, const char *dir, unsigned n,
                            double *rate)
{
    uint8_t cmd[BUF];
    uint32_t len = get_random_cmd(cmd);
    struct child c;
    double t0;
    int err;

    if ((err = spawn_pipe(exe, dir, &c)) < 0)
        return err;
    for (unsigned i = 0; i < n / 10 + 1; i++) /* warm-up */
        if (roundtrip(&c, cmd, len) != TPM_RC_SUCCESS)
            goto fail;
    t0 = now_s();
    for (unsigned i = 0; i < n; i++)
        if (roundtrip(&c, cmd, len) != TPM_RC_SUCCESS)
            goto fail;
    *rate = n / (now_s() - t0);
    return finish_child(&c);
fail:
    finish_child(&c);
    return -EIO;
}

/* -------------------------------------------------- in-process backend */

static int open_powered(const char *dir, enum tpmcrb_state_sync sync,
                        struct tpmcrb_backend **be)
{
    struct tpmcrb_backend_options o = { .size = sizeof(o), .state_dir = dir, .sync = sync };
    uint8_t cmd[BUF], rsp[BUF], su[2];
    uint32_t len, rsp_len;
    bool resumed;
    int err;

    if ((err = tpmcrb_backend_open("libtpms", &o, be)) < 0)
        return err;
    if ((err = (*be)->ops->power_on(*be, BUF, &resumed)) < 0)
        goto fail;
    if (!resumed) {
        tpm_put_be16(su, TPM_SU_CLEAR);
        len = tpm_build_command(cmd, BUF, TPM_CC_Startup, su, sizeof(su));
        if ((err = (*be)->ops->execute(*be, 0, cmd, len, rsp, BUF,
                                       &rsp_len)) < 0)
            goto fail;
    }
    return 0;
fail:
    tpmcrb_backend_close(*be);
    return err;
}

/* Microseconds per GetRandom through the backend's execute(). */
static int time_backend(struct tpmcrb_backend *be, unsigned n, double *us)
{
    uint8_t cmd[BUF], rsp[BUF];
    uint32_t len = get_random_cmd(cmd), rsp_len;
    double t0 = now_s();

    for (unsigned i = 0; i < n; i++)
        if (be->ops->execute(be, 0, cmd, len, rsp, BUF, &rsp_len) < 0 ||
            tpm_hdr_code(rsp) != TPM_RC_SUCCESS)
            return -EIO;
    *us = (now_s() - t0) * 1e6 / n;
    return 0;
}

/* TPMLIB_Process itself, on the TPM the memory backend initialised. */
static int time_direct(unsigned n, double *rate)
{
    uint8_t cmd[BUF];
    uint32_t len = get_random_cmd(cmd), rsp_len = 0, rsp_size = 0;
    unsigned char *rsp = NULL;
    double t0 = now_s();

    for (unsigned i = 0; i < n; i++)
        if (TPMLIB_Process(&rsp, &rsp_len, &rsp_size, cmd, len) ||
            tpm_hdr_code(rsp) != TPM_RC_SUCCESS) {
            free(rsp);
            return -EIO;
        }
    *rate = n / (now_s() - t0);
    free(rsp);
    return 0;
}

/* PER_COMMAND mode with the state sealed (--key: AES-256-GCM) against
 * the same without, alternating rounds in one run; the sealed TPM lives in
 * a directory of its own beside @dir. */
static int bench_sealed(const char *dir, unsigned n)
{
    char sealed_dir[PATH_MAX];
    struct state_key k = { .len = 32 };
    struct tpmcrb_backend *be;
    double us, plain = 0, sealed = 0;
    int err = 0;

    if ((size_t)snprintf(sealed_dir, sizeof(sealed_dir), "%s-sealed", dir) >=
        sizeof(sealed_dir))
        return -ENAMETOOLONG;
    if (RAND_bytes(k.bytes, sizeof(k.bytes)) != 1)
        return -EIO;
    strcpy(k.path, "(random)");
    for (int round = 0; round < 4 && !err; round++) {
        bool seal = round & 1;

        if (seal && (err = state_key_install(&k)) < 0)
            break;
        tool_log_set_level(TPMCRB_LOG_ERROR);  /* the new-TPM notice */
        err = open_powered(seal ? sealed_dir : dir,
                           TPMCRB_STATE_SYNC_PER_COMMAND, &be);
        tool_log_set_level(TPMCRB_LOG_WARN);
        if (err == 0) {
            err = time_backend(be, n, &us);
            tpmcrb_backend_close(be);
            *(seal ? &sealed : &plain) += us / 2;
        }
        state_store_set_cipher(NULL);
    }
    OPENSSL_cleanse(&k, sizeof(k));
    if (err < 0)
        return err;
    printf("BENCH backend_per_command_sealed_us_per_cmd=%.2f\n", sealed);
    printf("BENCH sealed_vs_plain_per_command_ratio=%.2f\n", sealed / plain);
    return 0;
}

static int bench_backend(const char *dir, unsigned n, double *direct)
{
    struct tpmcrb_backend *be;
    double mem_us, per_cmd_us;
    int err;

    if ((err = open_powered(NULL, TPMCRB_STATE_SYNC_OWNER, &be)) < 0)
        return err;
    err = time_direct(n, direct);
    if (!err)
        err = time_backend(be, n, &mem_us);
    tpmcrb_backend_close(be);
    if (err < 0)
        return err;
    if ((err = open_powered(dir, TPMCRB_STATE_SYNC_PER_COMMAND, &be)) < 0)
        return err;
    err = time_backend(be, n / 10 + 1, &per_cmd_us);
    tpmcrb_backend_close(be);
    if (err < 0)
        return err;
    printf("BENCH backend_memory_us_per_cmd=%.2f\n", mem_us);
    printf("BENCH backend_per_command_us_per_cmd=%.2f\n", per_cmd_us);
    printf("BENCH per_command_save_us=%.2f\n", per_cmd_us - mem_us);
    return bench_sealed(dir, n / 10 + 1);
}

/* The volatile save by itself (~9 KiB), as PER_COMMAND mode does it (a
 * slot rewritten in place), what an fsync would add to it, and the
 * temporary-file-and-rename write used for NV, for comparison. */
static int bench_writes(const char *dir, unsigned n)
{
    static uint8_t payload[9 * 1024];
    struct state_info info = { .type = 1, .len = sizeof(payload) };
    struct state_store *st;
    double t[3], t0;
    int err = 0;

    if ((err = state_store_open(dir, &st)) < 0)
        return err;
    for (int mode = 0; mode < 3; mode++) {
        t0 = now_s();
        for (unsigned i = 0; i < n && !err; i++) {
            info.generation++;
            err = mode < 2 ? state_store_write_slots(st, "bench.state", &info,
                                                     payload, mode == 1)
                           : state_store_write(st, "bench.state", &info,
                                               payload, false);
        }
        t[mode] = (now_s() - t0) / n;
    }
    state_store_remove_slots(st, "bench.state", false);
    state_store_remove(st, "bench.state", false);
    state_store_close(st);
    if (err < 0)
        return err;
    printf("BENCH volatile_write_us=%.2f\n", t[0] * 1e6);
    printf("BENCH volatile_write_fsync_us=%.2f\n", t[1] * 1e6);
    printf("BENCH rename_write_us=%.2f\n", t[2] * 1e6);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: tpmcrb bench pipe [--runs N] [--commands N] [--dir DIR]\n"
        "  --runs N      pipe start-ups to time (default 30)\n"
        "  --commands N  commands for the rates (default 20000)\n"
        "  --dir DIR     where to create the state directory (default $TMPDIR\n"
        "                or /tmp; the filesystem decides the fsync cost)\n");
}

static int parse(int argc, char **argv, unsigned *runs, unsigned *n,
                 const char **parent)
{
    static const struct option longopts[] = {
        { "runs", required_argument, NULL, 'r' },
        { "commands", required_argument, NULL, 'c' },
        { "dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': *runs = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'c': *n = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'd': *parent = optarg; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return (*runs && *n && optind == argc) ? 0 : -1;
}

int bench_pipe(int argc, char **argv)
{
    unsigned runs = 30, n = 20000;
    const char *parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char exe[PATH_MAX], dir[PATH_MAX], scratch[PATH_MAX + 16];
    double pipe_rate, mem_rate, direct;
    ssize_t len;
    int rc, err;

    if ((rc = parse(argc, argv, &runs, &n, &parent)) != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    }
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len < 0) {
        perror("tpmcrb bench pipe: /proc/self/exe");
        return EXIT_RUNTIME;
    }
    exe[len] = '\0';
    snprintf(dir, sizeof(dir), "%s/tpmcrb-bench-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        LOG_ERROR("cannot create a directory in %s: "
                "%s", parent, strerror(errno));
        return EXIT_RUNTIME;
    }
    snprintf(scratch, sizeof(scratch), "%s/state", dir);
    printf("# state directory %s\n", scratch);
    if ((err = bench_startup(exe, scratch, runs)) < 0 ||
        (err = bench_throughput(exe, scratch, n, &pipe_rate)) < 0 ||
        (err = bench_throughput(exe, NULL, n, &mem_rate)) < 0 ||
        (err = bench_backend(scratch, n, &direct)) < 0 ||
        (err = bench_writes(scratch, runs * 10)) < 0) {
        LOG_ERROR("failed: %s", strerror(-err));
        rc = EXIT_RUNTIME;
    } else {
        printf("BENCH pipe_cmds_per_s=%.0f\n", pipe_rate);
        printf("BENCH pipe_memory_cmds_per_s=%.0f\n", mem_rate);
        printf("BENCH libtpms_direct_cmds_per_s=%.0f\n", direct);
        printf("BENCH direct_vs_pipe_ratio=%.1f\n", direct / pipe_rate);
        printf("BENCH direct_vs_pipe_memory_ratio=%.1f\n", direct / mem_rate);
        rc = EXIT_OK;
    }
    snprintf(scratch, sizeof(scratch), "rm -rf '%s'", dir);
    if (system(scratch) != 0)
        LOG_ERROR("could not remove %s", dir);
    return rc;
}
