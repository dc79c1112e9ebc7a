/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The swtpm backend against a real swtpm: a child per backend, or an
 * external swtpm reached through its control socket. Covers power-on and
 * resume, NV across reopen, tpmEstablished, snapshots, a killed or hung
 * swtpm, file descriptor hygiene of the child, and the argument parser.
 * Exits 77 (skip) when swtpm is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/test_hooks.h"
#include "util/tpm_cmd.h"
#include "tools/cli/crb_driver.h"
#include "test_files.h"
#include "tpm_commands.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF TT_BUF
#define NV_INDEX 0x01500020u
#define PCR 16u /* resettable, starts as zeros */

struct fx {
    struct tt_backend io;  /* the backend and its command buffers */
    char *dir;
    pid_t external;        /* an swtpm the test started itself */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

static int open_be(struct fx *f, const char *spec, bool power_cycle)
{
    struct tpmcrb_backend_options o = { .size = sizeof(o), .state_dir = f->dir,
                                        .power_cycle = power_cycle };

    return tpmcrb_backend_open(spec, &o, &f->io.be);
}

static bool power_on(struct fx *f)
{
    return tt_power_on(&f->io, BUF);
}

static void close_be(struct fx *f)
{
    tt_backend_close(&f->io);
}

/* Execute @len bytes of f->io.cmd; returns the TPM response code. */
static uint32_t run(struct fx *f, unsigned locality, uint32_t len)
{
    return tt_run(&f->io, locality, len);
}

/* A GetRandom(8) from locality 0; returns what execute() returned, as the
 * dead-swtpm cases expect it to fail. */
static int getrandom_rc(struct fx *f)
{
    return tt_exec(&f->io, 0, tc_get_random(f->io.cmd, 8));
}

static void startup(struct fx *f)
{
    assert_int_equal(run(f, 0, tc_startup(f->io.cmd, TPM_SU_CLEAR)),
                     TPM_RC_SUCCESS);
}

/* Most cases start from a started TPM behind backend @spec. */
static void open_started(struct fx *f, const char *spec)
{
    assert_int_equal(open_be(f, spec, false), 0);
    power_on(f);
    startup(f);
}

/* A started swtpm child, sent @sig (killed, or stopped as if hung);
 * returns its pid. */
static pid_t started_then_signalled(struct fx *f, const char *spec, int sig)
{
    pid_t pid;

    open_started(f, spec);
    pid = crb_swtpm_child_pid(f->io.be);
    kill(pid, sig);
    return pid;
}

/* A start after a power loss (or a power cycle): nothing resumed, so the
 * TPM wants its Startup. */
static void reopen_cold(struct fx *f, bool power_cycle)
{
    assert_int_equal(open_be(f, "swtpm", power_cycle), 0);
    assert_false(power_on(f));
    startup(f);
}

/* An orderly shutdown: the backend saves the volatile state. */
static void power_off_and_close(struct fx *f)
{
    assert_int_equal(f->io.be->ops->power_off(f->io.be), 0);
    close_be(f);
}

static void extend(struct fx *f, uint8_t fill)
{
    assert_int_equal(run(f, 0, tc_pcr_extend(f->io.cmd, PCR, fill)),
                     TPM_RC_SUCCESS);
}

/* PCR_Read response: header, update counter, selection (10), count,
 * TPM2B digest. */
static void read_pcr(struct fx *f, uint8_t out[32])
{
    assert_int_equal(run(f, 0, tc_pcr_read(f->io.cmd, 1u << (PCR))),
                     TPM_RC_SUCCESS);
    assert_int_equal(f->io.rsp_len, 10 + 4 + 10 + 4 + 2 + 32);
    assert_int_equal(tpm_be16(f->io.rsp + 28), 32);
    memcpy(out, f->io.rsp + 30, 32);
}

/* SHA-256 bank: new = H(old || 32 x fill), from zeros. */
static void expected_pcr(const uint8_t *fills, size_t n, uint8_t out[32])
{
    uint8_t buf[64];

    memset(out, 0, 32);
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, out, 32);
        memset(buf + 32, fills[i], 32);
        SHA256(buf, sizeof(buf), out);
    }
}

static void check_pcr(struct fx *f, const uint8_t *fills, size_t n)
{
    uint8_t want[32], got[32];

    expected_pcr(fills, n, want);
    read_pcr(f, got);
    assert_memory_equal(got, want, 32);
}

static void nv_write(struct fx *f, const char *text)
{
    assert_int_equal(run(f, 0, tc_nv_write(f->io.cmd, NV_INDEX,
                                            (const uint8_t *)text, 8)),
                     TPM_RC_SUCCESS);
}

static void nv_define_write(struct fx *f, const char *text)
{
    assert_int_equal(run(f, 0, tc_nv_define(f->io.cmd, NV_INDEX, 8, TC_NV_OWNER_AUTH_RW)),
                     TPM_RC_SUCCESS);
    nv_write(f, text);
}

static void check_nv(struct fx *f, const char *text)
{
    assert_int_equal(run(f, 0, tc_nv_read(f->io.cmd, NV_INDEX, 8)),
                     TPM_RC_SUCCESS);
    /* header, parameterSize, TPM2B size, data */
    assert_int_equal(tpm_be16(f->io.rsp + 14), 8);
    assert_memory_equal(f->io.rsp + 16, text, 8);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    f->dir = make_temp_dir();
    f->external = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int st;

    if (f->io.be)
        close_be(f);
    if (f->external > 0) {
        kill(f->external, SIGKILL);
        waitpid(f->external, &st, 0);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    remove_tree(f->dir);
    free(f->dir);
    free(f);
    tpmcrb_log_set(TPMCRB_LOG_WARN, NULL, NULL);
    return 0;
}

/* ------------------------------------------------------------ child mode */

static void startup_getrandom_pcr(void **state)
{
    struct fx *f = *state;
    const uint8_t fills[] = { 0x01, 0xA5 };

    assert_int_equal(open_be(f, "swtpm", false), 0);
    assert_string_equal(f->io.be->ops->name, "swtpm");
    assert_false(power_on(f));
    /* Not started yet: the TPM itself says so. */
    assert_int_equal(run(f, 0, tc_get_random(f->io.cmd, 16)),
                     TPM_RC_INITIALIZE);
    startup(f);
    assert_int_equal(run(f, 0, tc_get_random(f->io.cmd, 16)), TPM_RC_SUCCESS);
    tt_check_getrandom(f->io.rsp, f->io.rsp_len, 16);
    extend(f, fills[0]);
    extend(f, fills[1]);
    check_pcr(f, fills, 2);
}

static void nv_survives_reopen(void **state)
{
    struct fx *f = *state;
    pid_t old;

    open_started(f, "swtpm");
    nv_define_write(f, "swtpm-nv");
    old = crb_swtpm_child_pid(f->io.be);
    assert_true(old > 0);
    close_be(f);                       /* no power_off: a power loss */
    assert_int_equal(kill(old, 0), -1); /* the child was reaped */
    assert_int_equal(errno, ESRCH);

    reopen_cold(f, false);
    check_nv(f, "swtpm-nv");
}

static void resume_after_power_off(void **state)
{
    struct fx *f = *state;
    const uint8_t fills[] = { 0x42 };

    open_started(f, "swtpm");
    extend(f, fills[0]);
    power_off_and_close(f);

    assert_int_equal(open_be(f, "swtpm", false), 0);
    tt_power_on_expect(&f->io, BUF, true);
    check_pcr(f, fills, 1);             /* volatile state came back */
    assert_int_equal(run(f, 0, tc_startup(f->io.cmd, TPM_SU_CLEAR)),
                     TPM_RC_INITIALIZE);
    close_be(f);                        /* crash: nothing saved */

    /* The saved state was used once: this start is a power loss. */
    reopen_cold(f, false);
    check_pcr(f, fills, 0);
}

static void power_cycle_ignores_saved_state(void **state)
{
    struct fx *f = *state;

    open_started(f, "swtpm");
    extend(f, 0x11);
    power_off_and_close(f);

    reopen_cold(f, true);
    check_pcr(f, NULL, 0);
}

static void save_load_round_trip(void **state)
{
    struct fx *f = *state;
    const uint8_t saved[] = { 0x01 }, later[] = { 0x01, 0x02 };
    const struct tpmcrb_backend_ops *ops;
    uint8_t *blob, *bad;
    size_t len;
    struct fx g = { .dir = make_temp_dir() };

    open_started(f, "swtpm");
    ops = f->io.be->ops;
    extend(f, saved[0]);
    nv_define_write(f, "snapshot");
    assert_int_equal(ops->save_state(f->io.be, &blob, &len), 0);
    assert_true(len > 1000);

    extend(f, 0x02);
    nv_write(f, "changed!");
    check_pcr(f, later, 2);

    /* Damaged blobs are refused before anything changes. */
    bad = malloc(len);
    memcpy(bad, blob, len);
    bad[0] ^= 1;
    log_capture_start();
    assert_int_equal(ops->load_state(f->io.be, bad, len), -EINVAL);
    assert_non_null(strstr(log_captured(), "damaged"));
    assert_int_equal(ops->load_state(f->io.be, blob, len - 1), -EINVAL);
    free(bad);
    check_pcr(f, later, 2);
    check_nv(f, "changed!");

    assert_int_equal(ops->load_state(f->io.be, blob, len), 0);
    check_pcr(f, saved, 1);             /* started, volatile state back */
    check_nv(f, "snapshot");

    /* Migration: the same blob into another swtpm with its own state. */
    assert_int_equal(open_be(&g, "swtpm", false), 0);
    power_on(&g);
    assert_int_equal(ops->load_state(g.io.be, blob, len), 0);
    check_pcr(&g, saved, 1);
    check_nv(&g, "snapshot");
    close_be(&g);
    remove_tree(g.dir);
    free(g.dir);
    free(blob);
}

/* The backend's own commands were not mixed into the data stream. */
static void local_answers_keep_stream_in_sync(void **state)
{
    struct fx *f = *state;
    uint8_t *big = f->io.cmd;

    open_started(f, "swtpm");
    /* Bigger than the negotiated buffer: answered here. */
    memset(big, 0, BUF);
    tc_get_random(big, 8);
    tpm_put_be32(big + 2, BUF);
    /* Exactly the buffer size: forwarded; the TPM itself objects to the
     * trailing bytes (TPM_RC_SIZE), not we with TPM_RC_COMMAND_SIZE. */
    assert_int_equal(tt_exec_code(&f->io, 0, BUF), 0x095);
    assert_int_equal(tt_exec_code(&f->io, 0, BUF + 1), TPM_RC_COMMAND_SIZE);
    /* Shorter than a header: swtpm would wait for more bytes. */
    assert_int_equal(tt_exec_code(&f->io, 0, 8), TPM_RC_COMMAND_SIZE);
    /* swtpm's own framing marker: would get extra bytes back. */
    tpm_put_be32(big, 8);
    tpm_put_be32(big + 4, 0);
    tpm_put_be32(big + 8, 12);
    assert_int_equal(tt_exec_code(&f->io, 0, 12), 0x01E);
    assert_int_equal(run(f, 0, tc_get_random(f->io.cmd, 32)), TPM_RC_SUCCESS);
    tt_check_getrandom(f->io.rsp, f->io.rsp_len, 32);
}

/* Localities reach swtpm: PCR 20 may be reset from locality 2 only. */
static void locality_is_passed(void **state)
{
    struct fx *f = *state;
    uint32_t len;

    open_started(f, "swtpm");
    len = tpm_build_command(f->io.cmd, BUF, 0x13D /* PCR_Reset */, NULL, 0);
    /* handle 20 + empty password session */
    memcpy(f->io.cmd + 10, "\x00\x00\x00\x14\x00\x00\x00\x09\x40\x00\x00\x09"
                        "\x00\x00\x00\x00\x00", 17);
    len += 17;
    tpm_put_be16(f->io.cmd, TPM_ST_SESSIONS);
    tpm_put_be32(f->io.cmd + 2, len);
    assert_int_equal(run(f, 0, len), 0x907 /* TPM_RC_LOCALITY */);
    assert_int_equal(run(f, 2, len), TPM_RC_SUCCESS);
    assert_int_equal(run(f, 3, len), 0x907);
}

static void *kill_later(void *arg)
{
    pid_t pid = *(pid_t *)arg;

    sleep_ms(300);
    kill(pid, SIGKILL);
    return NULL;
}

static void killed_swtpm_gives_eio_and_restarts(void **state)
{
    struct fx *f = *state;
    pthread_t t;
    pid_t pid;
    int64_t t0;

    open_started(f, "swtpm");
    nv_define_write(f, "durable!");

    /* Killed while a command waits for it (stopped, then killed). */
    pid = crb_swtpm_child_pid(f->io.be);
    assert_true(pid > 0);
    kill(pid, SIGSTOP);
    pthread_create(&t, NULL, kill_later, &pid);
    log_capture_start();
    t0 = now_ms();
    assert_int_equal(getrandom_rc(f), -EIO);
    assert_true(now_ms() - t0 < 5000);
    pthread_join(t, NULL);
    assert_non_null(strstr(log_captured(), "closed the connection"));
    assert_non_null(strstr(log_captured(), "killed by signal 9"));
    assert_int_equal(crb_swtpm_child_pid(f->io.be), -1);

    /* Later commands fail at once; nothing is written anywhere. */
    t0 = now_ms();
    assert_int_equal(getrandom_rc(f), -EIO);
    assert_true(now_ms() - t0 < 100);
    assert_int_equal(f->io.be->ops->power_off(f->io.be), -EIO);

    /* Power on again (a VM restart): a new swtpm on the same state. */
    assert_false(power_on(f));
    assert_true(crb_swtpm_child_pid(f->io.be) > 0);
    assert_true(crb_swtpm_child_pid(f->io.be) != pid);
    startup(f);
    check_nv(f, "durable!");
}

/* A device on f's backend, driven from locality 0; the TPM is started
 * through it (the backend powers on with the device). */
static struct tpmcrb_device *device_started(struct fx *f,
                                            struct crb_driver *drv)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;

    tpmcrb_config_init(&cfg);
    assert_int_equal(tpmcrb_device_new(&cfg, f->io.be, &dev), 0);
    assert_int_equal(crb_driver_init(drv, dev, 0), 0);
    assert_int_equal(tt_transmit(drv, f->io.cmd,
                                 tc_startup(f->io.cmd, TPM_SU_CLEAR),
                                 f->io.rsp, BUF, &f->io.rsp_len),
                     TPM_RC_SUCCESS);
    return dev;
}

/* Through the device, as a guest driver sees it: the command ends with
 * tpmSts (fatal) set and START clear, promptly, with a log line; a new
 * device on the same backend (a VM restart) works again. */
static void device_reports_dead_swtpm(void **state)
{
    struct fx *f = *state;
    struct tpmcrb_device *dev;
    struct crb_driver drv = { 0 };
    uint32_t len;
    int64_t t0;

    assert_int_equal(open_be(f, "swtpm", false), 0);
    dev = device_started(f, &drv);

    kill(crb_swtpm_child_pid(f->io.be), SIGKILL);
    log_capture_start();
    t0 = now_ms();
    len = tc_get_random(f->io.cmd, 8);
    assert_int_equal(crb_driver_transmit(&drv, f->io.cmd, len, f->io.rsp, BUF,
                                         &f->io.rsp_len), -EIO);
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(crb_driver_read32(&drv, 0x4C) & 1, 0);  /* START */
    assert_int_equal(crb_driver_read32(&drv, 0x44) & 1, 1);  /* tpmSts */
    assert_non_null(strstr(log_captured(), "killed by signal 9"));
    tpmcrb_device_free(dev);

    dev = device_started(f, &drv);
    tpmcrb_device_free(dev);
}

static void killed_while_idle(void **state)
{
    struct fx *f = *state;

    started_then_signalled(f, "swtpm", SIGKILL);
    sleep_ms(50);
    log_capture_start();
    assert_int_equal(getrandom_rc(f), -EIO);
    assert_non_null(strstr(log_captured(), "killed by signal 9"));
    /* close does not hang on a dead child */
    close_be(f);
}

static void hung_swtpm_times_out(void **state)
{
    struct fx *f = *state;
    pid_t pid;
    int64_t t0;

    pid = started_then_signalled(f, "swtpm:timeout=1", SIGSTOP);
    log_capture_start();
    t0 = now_ms();
    assert_int_equal(getrandom_rc(f), -EIO);
    assert_in_range(now_ms() - t0, 900, 3000);
    assert_non_null(strstr(log_captured(), "no answer within 1000 ms"));
    assert_non_null(strstr(log_captured(), "still running"));
    /* A stopped child is killed, not waited for. */
    t0 = now_ms();
    close_be(f);
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(kill(pid, 0), -1);
}

/* cancel() never waits for swtpm, which reads it only between commands. */
static void cancel_does_not_block(void **state)
{
    struct fx *f = *state;
    pid_t pid;
    int64_t t0;

    pid = started_then_signalled(f, "swtpm", SIGSTOP); /* as busy as can be */
    t0 = now_ms();
    f->io.be->ops->cancel(f->io.be);
    f->io.be->ops->cancel(f->io.be);
    assert_true(now_ms() - t0 < 100);
    kill(pid, SIGCONT);
    /* Their answers are collected before the next control transaction. */
    assert_false(f->io.be->ops->get_established(f->io.be));
    assert_int_equal(f->io.be->ops->reset_established(f->io.be, 3), 0);
    assert_int_equal(run(f, 1, tc_get_random(f->io.cmd, 8)), TPM_RC_SUCCESS);
}

struct long_cmd {
    struct fx *f;
    uint32_t len;
    int rc;
    atomic_bool done;
};

static void *run_long(void *arg)
{
    struct long_cmd *c = arg;

    c->rc = tt_exec(&c->f->io, 0, c->len);
    atomic_store(&c->done, true);
    return NULL;
}

/* cancel() from another thread while a command runs: no hang, no mix-up
 * of control answers. swtpm reads the request only after the command, so
 * the command completes normally. */
static void cancel_from_another_thread(void **state)
{
    struct fx *f = *state;
    struct long_cmd c = { .f = f };
    pthread_t t;
    int cancels = 0;
    int64_t t0, slowest = 0;

    open_started(f, "swtpm");
    /* RSA-2048 primary key: seconds of prime search in swtpm. */
    c.len = tc_create_primary_rsa(f->io.cmd, 2048);
    pthread_create(&t, NULL, run_long, &c);
    while (!atomic_load(&c.done)) {
        t0 = now_ms();
        f->io.be->ops->cancel(f->io.be);
        if (now_ms() - t0 > slowest)
            slowest = now_ms() - t0;
        cancels++;
        sleep_ms(1);
    }
    pthread_join(t, NULL);
    assert_int_equal(c.rc, 0);
    assert_int_equal(tpm_hdr_code(f->io.rsp), TPM_RC_SUCCESS);
    assert_true(slowest < 50);
    assert_true(cancels > 0);
    assert_false(f->io.be->ops->get_established(f->io.be));
    assert_int_equal(run(f, 2, tc_get_random(f->io.cmd, 8)), TPM_RC_SUCCESS);
}

/* No private state directory is left behind; swtpm gets our stderr, not
 * our stdout (`tpmcrb pipe` answers there), and none of our descriptors. */
static void private_dir_and_child_fds(void **state)
{
    struct fx *f = *state;
    char path[128], link[PATH_MAX], self_err[PATH_MAX], env[8192], *dir;
    struct stat st;
    ssize_t n;
    int fd;
    pid_t pid;

    struct tpmcrb_backend_options o = { .size = sizeof(o) };
    int sockets = 0, canary;

    /* A descriptor without close-on-exec, as embedders often have. */
    snprintf(path, sizeof(path), "%s/leak-canary", f->dir);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    canary = fcntl(fd, F_DUPFD, 20); /* clear of the child's 0..3 */
    close(fd);
    assert_true(canary >= 20);
    assert_int_equal(tpmcrb_backend_open("swtpm", &o, &f->io.be), 0);
    power_on(f);
    pid = crb_swtpm_child_pid(f->io.be);

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, env, sizeof(env) - 1);
    close(fd);
    assert_true(n > 0);
    env[n] = '\0';
    dir = NULL;
    for (char *e = env; e < env + n; e += strlen(e) + 1)
        if (!strncmp(e, "TPM_PATH=", 9))
            dir = strdup(e + 9);
    assert_non_null(dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
    n = readlink(path, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    assert_string_equal(link, "/dev/null");
    snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
    n = readlink(path, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    n = readlink("/proc/self/fd/2", self_err, sizeof(self_err) - 1);
    self_err[n > 0 ? n : 0] = '\0';
    assert_string_equal(link, self_err);
    for (int i = 3; i < 1024; i++) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i);
        n = readlink(path, link, sizeof(link) - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        assert_null(strstr(link, "owner.lock"));
        assert_null(strstr(link, "leak-canary"));
        sockets += !strncmp(link, "socket:", 7);
    }
    assert_int_equal(sockets, 2); /* control and data */
    close(canary);
    /* Own process group: a terminal's Ctrl-C is ours to handle. */
    assert_int_equal(getpgid(pid), pid);

    close_be(f);
    assert_int_equal(stat(dir, &st), -1);
    free(dir);
}

/* A SIGKILLed embedder leaves no swtpm behind: it exits when its data
 * connection closes. This process adopts orphans so it can reap it. */
static void child_exits_when_we_die(void **state)
{
    struct fx *f = *state;
    pid_t embedder, swtpm = -1;
    int p[2], st;

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pipe(p), 0);
    embedder = fork();
    assert_true(embedder >= 0);
    if (embedder == 0) {
        struct tpmcrb_backend_options o = { .size = sizeof(o), .state_dir = f->dir };
        struct tpmcrb_backend *be;
        bool resumed;

        if (tpmcrb_backend_open("swtpm", &o, &be) ||
            be->ops->power_on(be, BUF, &resumed))
            _exit(1);
        swtpm = crb_swtpm_child_pid(be);
        if (write(p[1], &swtpm, sizeof(swtpm)) != sizeof(swtpm))
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &swtpm, sizeof(swtpm)), sizeof(swtpm));
    close(p[0]);
    f->external = swtpm; /* teardown's, should this test fail */
    kill(embedder, SIGKILL);
    assert_int_equal(waitpid(embedder, &st, 0), embedder);
    for (int i = 0; i < 300 && waitpid(swtpm, &st, WNOHANG) == 0; i++)
        sleep_ms(10);
    assert_int_equal(kill(swtpm, 0), -1); /* reaped: it had exited */
}

/* tpm2-tools starts `tpmcrb pipe` with umask 0177; the state directory
 * must still be usable (0700). Parents are not created. */
static void state_dir_created_private(void **state)
{
    struct fx *f = *state;
    struct fx g = { 0 };
    char sub[600], deep[600];
    struct stat st;
    mode_t old = umask(0177);

    snprintf(sub, sizeof(sub), "%s/state", f->dir);
    snprintf(deep, sizeof(deep), "%s/no/such/parent", f->dir);
    g.dir = sub;
    assert_int_equal(open_be(&g, "swtpm", false), 0);
    umask(old);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    power_on(&g);
    startup(&g);
    close_be(&g);
    g.dir = deep;
    log_capture_start();
    assert_int_equal(open_be(&g, "swtpm", false), -ENOENT);
    assert_non_null(strstr(log_captured(), "no/such/parent"));
}

static void state_dir_is_exclusive(void **state)
{
    struct fx *f = *state;
    struct fx g = { .dir = f->dir };

    assert_int_equal(open_be(f, "swtpm", false), 0);
    log_capture_start();
    assert_int_equal(open_be(&g, "swtpm", false), -EBUSY);
    assert_non_null(strstr(log_captured(), "in use"));
    close_be(f);
    assert_int_equal(open_be(&g, "swtpm", false), 0);
    power_on(&g);
    close_be(&g);
}

static void bad_arguments(void **state)
{
    struct fx *f = *state;

    log_capture_start();
    assert_int_equal(open_be(f, "swtpm:colour=blue", false), -EINVAL);
    assert_non_null(strstr(log_captured(), "colour=blue"));
    assert_int_equal(open_be(f, "swtpm:timeout=0", false), -EINVAL);
    assert_int_equal(open_be(f, "swtpm:timeout=x", false), -EINVAL);
    assert_int_equal(open_be(f, "swtpm:data=/tmp/x", false), -EINVAL);
    log_capture_start();
    assert_int_equal(open_be(f, "swtpm:ctrl=/nonexistent/ctrl.sock", false),
                     -ENOENT);
    assert_non_null(strstr(log_captured(), "/nonexistent/ctrl.sock"));
    assert_null(f->io.be);
}

/* --------------------------------------------------- an external swtpm */

static pid_t start_external(const char *dir, bool data_socket)
{
    char state[600], ctrl[600], data[600], pidf[600];
    pid_t pid;

    snprintf(state, sizeof(state), "dir=%s", dir);
    snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s/ctrl.sock", dir);
    snprintf(data, sizeof(data), "type=unixio,path=%s/data.sock", dir);
    snprintf(pidf, sizeof(pidf), "file=%s/swtpm.pid", dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (data_socket)
            execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state,
                   "--ctrl", ctrl, "--server", data, "--pid", pidf, NULL);
        else
            execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state,
                   "--ctrl", ctrl, "--pid", pidf, NULL);
        _exit(127);
    }
    /* The pid file is written once the sockets listen. */
    for (int i = 0; i < 500; i++) {
        struct stat st;

        snprintf(pidf, sizeof(pidf), "%s/swtpm.pid", dir);
        if (stat(pidf, &st) == 0 && st.st_size > 0)
            return pid;
        sleep_ms(10);
    }
    fail_msg("external swtpm did not start");
    return -1;
}

static void ctrl_spec(struct fx *f, char *buf, size_t len, bool data)
{
    if (data)
        snprintf(buf, len, "swtpm:ctrl=%s/ctrl.sock,data=%s/data.sock",
                 f->dir, f->dir);
    else
        snprintf(buf, len, "swtpm:ctrl=%s/ctrl.sock", f->dir);
}

static void external_session(void **state, bool data)
{
    struct fx *f = *state;
    const uint8_t fills[] = { 0x33 };
    char spec[700];

    f->external = start_external(f->dir, data);
    ctrl_spec(f, spec, sizeof(spec), data);
    assert_int_equal(open_be(f, spec, false), 0);
    assert_int_equal(crb_swtpm_child_pid(f->io.be), -1);
    assert_false(power_on(f));
    startup(f);
    assert_int_equal(run(f, 0, tc_get_random(f->io.cmd, 16)), TPM_RC_SUCCESS);
    extend(f, fills[0]);
    power_off_and_close(f);
    assert_int_equal(kill(f->external, 0), 0); /* not ours to stop */

    assert_int_equal(open_be(f, spec, false), 0);
    tt_power_on_expect(&f->io, BUF, true);
    check_pcr(f, fills, 1);
}

static void external_ctrl_socket(void **state)
{
    external_session(state, false);
}

static void external_ctrl_and_data_sockets(void **state)
{
    external_session(state, true);
}

/* Raw control messages, to set tpmEstablished the way a D-RTM sequence
 * does (hash start/data/end), which the backend interface never does. */
static void ctrl_raw(int fd, const uint8_t *msg, size_t len)
{
    uint8_t res[4];

    assert_int_equal(write(fd, msg, len), (ssize_t)len);
    assert_int_equal(read(fd, res, 4), 4);
    assert_int_equal(tpm_be32(res), 0);
}

static void set_established_externally(const char *dir)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(a.sun_path, sizeof(a.sun_path), "%s/ctrl.sock", dir);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ctrl_raw(fd, (const uint8_t *)"\0\0\0\x02\0\0\0\0", 8);      /* INIT */
    ctrl_raw(fd, (const uint8_t *)"\0\0\0\x06", 4);              /* HASH_START */
    ctrl_raw(fd, (const uint8_t *)"\0\0\0\x07\0\0\0\x03" "abc", 11); /* DATA */
    ctrl_raw(fd, (const uint8_t *)"\0\0\0\x08", 4);              /* HASH_END */
    close(fd);
}

static void established_flag(void **state)
{
    struct fx *f = *state;
    char spec[700];

    f->external = start_external(f->dir, false);
    set_established_externally(f->dir);
    ctrl_spec(f, spec, sizeof(spec), false);
    /* swtpm serves one control client at a time; ours waits in the
     * listen backlog until it has noticed that the previous one left. */
    assert_int_equal(open_be(f, spec, false), 0);
    power_on(f);
    assert_true(f->io.be->ops->get_established(f->io.be));
    assert_int_equal(f->io.be->ops->reset_established(f->io.be, 0), -EPERM);
    assert_true(f->io.be->ops->get_established(f->io.be));
    assert_int_equal(f->io.be->ops->reset_established(f->io.be, 3), 0);
    assert_false(f->io.be->ops->get_established(f->io.be));
    /* The cached value is right after a new power-on too. */
    assert_int_equal(f->io.be->ops->power_off(f->io.be), 0);
    power_on(f);
    assert_false(f->io.be->ops->get_established(f->io.be));
}

static bool have_swtpm(void)
{
    return system("swtpm --version >/dev/null 2>&1") == 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(startup_getrandom_pcr, setup, teardown),
        cmocka_unit_test_setup_teardown(nv_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_after_power_off, setup, teardown),
        cmocka_unit_test_setup_teardown(power_cycle_ignores_saved_state, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(local_answers_keep_stream_in_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(locality_is_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_swtpm_gives_eio_and_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(device_reports_dead_swtpm, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_while_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(hung_swtpm_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_from_another_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(private_dir_and_child_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(child_exits_when_we_die, setup, teardown),
        cmocka_unit_test_setup_teardown(state_dir_created_private, setup, teardown),
        cmocka_unit_test_setup_teardown(state_dir_is_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(external_ctrl_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(external_ctrl_and_data_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(established_flag, setup, teardown),
    };

    if (!have_swtpm()) {
        printf("SKIP: swtpm is not installed (Debian: apt install swtpm)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
