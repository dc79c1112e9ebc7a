/* SPDX-License-Identifier: BSD-3-Clause */
/* The embedded libtpms backend against the real libtpms: power-on and
 * resume, NV durability across a crash, per-command state sharing between
 * processes, corrupt state files, snapshots, locality and tpmEstablished.
 * libtpms is one TPM per process, so "another process" is a fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/backends.h"
#include "backend/state_store.h"
#include "util/tpm_cmd.h"
#include "test_files.h"
#include "tpm_commands.h"
#include "tpmcrb.h"

#include <libtpms/tpm_tis.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF 4096u
#define NV_FILE  "tpm2-nv.state"
#define VOL_FILE "tpm2-volatile.state"
#define VOL_SLOT0 VOL_FILE ".0"
#define VOL_SLOT1 VOL_FILE ".1"
#define NV_INDEX 0x01500016u

/* Forked children must not reach cmocka's assertions (a failure would
 * longjmp into the child's copy of the test runner): they exit instead. */
static bool in_child;

#define CHECK_EQ(a, b) do {                                              \
        if (in_child) { if ((uint64_t)(a) != (uint64_t)(b)) _exit(9); } \
        else assert_int_equal((a), (b));                                 \
    } while (0)

static pid_t fork_child(void)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        in_child = true;
    return pid;
}

struct fx {
    char *dir;
    struct tpmcrb_backend *be;
    uint8_t cmd[BUF], rsp[BUF];
    uint32_t rsp_len;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    f->dir = make_temp_dir();
    log_capture_start();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tpmcrb_backend_close(f->be);
    remove_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int open_be(struct fx *f, bool with_dir, enum tpmcrb_state_sync sync)
{
    struct tpmcrb_backend_options o = { .size = sizeof(o),
        .state_dir = with_dir ? f->dir : NULL, .sync = sync,
    };

    return tpmcrb_backend_open("libtpms", &o, &f->be);
}

static bool power_on(struct fx *f)
{
    bool resumed = false;

    CHECK_EQ(f->be->ops->power_on(f->be, BUF, &resumed), 0);
    return resumed;
}

static void close_be(struct fx *f)
{
    tpmcrb_backend_close(f->be);
    f->be = NULL;
}

/* Run a command at @loc; returns its response code. */
static uint32_t run_at(struct fx *f, unsigned loc, uint32_t len)
{
    CHECK_EQ(f->be->ops->execute(f->be, loc, f->cmd, len, f->rsp, BUF,
                                 &f->rsp_len), 0);
    CHECK_EQ(f->rsp_len >= TPM_HEADER_SIZE, 1);
    CHECK_EQ(tpm_hdr_size(f->rsp), f->rsp_len);
    return tpm_hdr_code(f->rsp);
}

static uint32_t run(struct fx *f, uint32_t len)
{
    return run_at(f, 0, len);
}

static void startup(struct fx *f)
{
    CHECK_EQ(run(f, tc_startup(f->cmd, TPM_SU_CLEAR)), TPM_RC_SUCCESS);
}

static void pcr16(struct fx *f, uint8_t out[32])
{
    CHECK_EQ(run(f, tc_pcr_read(f->cmd, 1u << 16)), TPM_RC_SUCCESS);
    /* header, updateCounter, TPML_PCR_SELECTION (4+2+1+3), count, size */
    CHECK_EQ(f->rsp_len, 10 + 4 + 10 + 4 + 2 + 32);
    memcpy(out, f->rsp + f->rsp_len - 32, 32);
}

static void nv_define_write(struct fx *f, const char *text)
{
    CHECK_EQ(run(f, tc_nv_define(f->cmd, NV_INDEX, 8, TC_NV_OWNER_AUTH_RW)), TPM_RC_SUCCESS);
    CHECK_EQ(run(f, tc_nv_write(f->cmd, NV_INDEX, (const uint8_t *)text, 8)),
             TPM_RC_SUCCESS);
}

static void expect_nv(struct fx *f, const char *text)
{
    assert_int_equal(run(f, tc_nv_read(f->cmd, NV_INDEX, 8)), TPM_RC_SUCCESS);
    /* header, parameterSize, TPM2B size, data */
    assert_memory_equal(f->rsp + 16, text, 8);
}

static uint64_t generation(struct fx *f, const char *name)
{
    struct state_store *st;
    struct state_info info = { 0 };
    uint32_t type = strcmp(name, NV_FILE) ? 0x4c4f5654u : 0x564e3254u;

    assert_int_equal(state_store_open(f->dir, &st), 0);
    if (strcmp(name, NV_FILE))
        assert_int_equal(state_store_peek_slots(st, name, type, &info), 0);
    else
        assert_int_equal(state_store_peek(st, name, type, &info), 0);
    state_store_close(st);
    return info.generation;
}

static bool have_volatile(struct fx *f)
{
    return file_size(f->dir, VOL_SLOT0) >= 0 || file_size(f->dir, VOL_SLOT1) >= 0;
}

static int wait_child(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* ---------------------------------------------------------------- tests */

static void test_one_instance_per_process(void **state)
{
    struct fx *f = *state;
    struct tpmcrb_backend *second = NULL;

    assert_int_equal(open_be(f, false, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_int_equal(tpmcrb_backend_open("libtpms", NULL, &second), -EBUSY);
    assert_null(second);
    assert_non_null(strstr(log_captured(), "one TPM per process"));
    close_be(f);
    assert_int_equal(open_be(f, false, TPMCRB_STATE_SYNC_OWNER), 0);
}

static void test_memory_startup_random_resume(void **state)
{
    struct fx *f = *state;

    assert_int_equal(open_be(f, false, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_false(power_on(f));
    assert_int_equal(run(f, tc_get_random(f->cmd, 16)), TPM_RC_INITIALIZE);
    startup(f);
    assert_int_equal(run(f, tc_get_random(f->cmd, 16)), TPM_RC_SUCCESS);
    assert_int_equal(f->rsp_len, 10 + 2 + 16);
    assert_int_equal(tpm_be16(f->rsp + 10), 16);
    assert_int_equal(run(f, tc_startup(f->cmd, TPM_SU_CLEAR)),
                     TPM_RC_INITIALIZE);
    /* Power-off keeps the volatile state in memory; power-on resumes it. */
    assert_int_equal(f->be->ops->power_off(f->be), 0);
    assert_true(power_on(f));
    assert_int_equal(run(f, tc_get_random(f->cmd, 8)), TPM_RC_SUCCESS);
}

/* A process that dies without power-off (SIGKILL) loses volatile state
 * only: every NV write it acknowledged is there for the next one. */
static void test_nv_survives_crash_owner(void **state)
{
    struct fx *f = *state;
    pid_t pid = fork_child();

    if (pid == 0) {
        if (open_be(f, true, TPMCRB_STATE_SYNC_OWNER) < 0 || power_on(f))
            _exit(2);
        startup(f);
        nv_define_write(f, "crash-ok");
        _exit(0); /* no power_off */
    }
    assert_int_equal(wait_child(pid), 0);
    assert_true(generation(f, NV_FILE) >= 2);
    assert_false(have_volatile(f));
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_false(power_on(f));
    startup(f);
    expect_nv(f, "crash-ok");
}

/* Owner mode: orderly power-off resumes (PCRs kept), and the volatile file
 * is consumed so that a crash after the resume is a power loss. */
static void test_resume_owner(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    uint64_t nv_gen;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_false(power_on(f));
    startup(f);
    assert_int_equal(run(f, tc_pcr_extend(f->cmd, 16, 0xab)),
                     TPM_RC_SUCCESS);
    pcr16(f, before);
    nv_gen = generation(f, NV_FILE);
    close_be(f);
    assert_true(have_volatile(f));

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_true(power_on(f));
    assert_false(have_volatile(f));
    /* Resuming is not an NV write. */
    assert_int_equal(generation(f, NV_FILE), nv_gen);
    pcr16(f, after);
    assert_memory_equal(before, after, 32);
    assert_int_equal(run(f, tc_startup(f->cmd, TPM_SU_CLEAR)),
                     TPM_RC_INITIALIZE);
}

/* Per-command mode: every command leaves the state on disk, so a process
 * killed after a response resumes exactly there, volatile state included. */
static void test_per_command_saves_each_command(void **state)
{
    struct fx *f = *state;
    uint8_t child_pcr[32], pcr[32];
    uint64_t gen;
    pid_t pid;
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    pid = fork_child();
    if (pid == 0) {
        if (open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND) < 0 || power_on(f))
            _exit(2);
        startup(f);
        run(f, tc_pcr_extend(f->cmd, 16, 0x11));
        pcr16(f, child_pcr);
        if (write(fds[1], child_pcr, 32) != 32)
            _exit(3);
        _exit(0); /* killed: no power_off */
    }
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(read(fds[0], child_pcr, 32), 32);
    close(fds[0]);
    close(fds[1]);

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_true(power_on(f));
    pcr16(f, pcr);
    assert_memory_equal(pcr, child_pcr, 32);
    gen = generation(f, VOL_FILE);
    assert_int_equal(run(f, tc_get_random(f->cmd, 4)), TPM_RC_SUCCESS);
    assert_int_equal(generation(f, VOL_FILE), gen + 1);
}

/* Two processes on one directory: a command of the other process is seen
 * by our next command (reload on a newer generation). */
static void test_per_command_reload(void **state)
{
    struct fx *f = *state;
    uint8_t pcr_a[32], pcr_b[32];
    pid_t pid;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    pcr16(f, pcr_a);

    pid = fork_child();
    if (pid == 0) {
        /* Drop the parent's copy as a fresh process would not have it. */
        close_be(f);
        if (open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND) < 0 || !power_on(f))
            _exit(2);
        nv_define_write(f, "other-pr");
        _exit(run(f, tc_pcr_extend(f->cmd, 16, 0x22)) ? 3 : 0);
    }
    assert_int_equal(wait_child(pid), 0);
    pcr16(f, pcr_b);
    assert_memory_not_equal(pcr_a, pcr_b, 32);
    expect_nv(f, "other-pr");
}

/* A process started with power_cycle removes the volatile slot files and
 * writes new ones. One already running, which keeps its slot files open,
 * must follow it to the new files: it sees the other's state (reload) and
 * its own commands land where the next process reads them, not in a file
 * nobody will read again. The generation on disk never goes back either:
 * the power-cycled process does not take its own state for someone
 * else's (its client's TPM2_Startup succeeds). */
static void test_per_command_follows_power_cycle(void **state)
{
    struct fx *f = *state;
    uint8_t mine[32], child[32], seen[32];
    int fds[2];
    pid_t pid;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    run(f, tc_pcr_extend(f->cmd, 16, 0x71));

    assert_int_equal(pipe(fds), 0);
    pid = fork_child();
    if (pid == 0) {
        struct tpmcrb_backend_options o = { .size = sizeof(o),
            .state_dir = f->dir, .sync = TPMCRB_STATE_SYNC_PER_COMMAND,
            .power_cycle = true };

        close_be(f);
        if (tpmcrb_backend_open("libtpms", &o, &f->be) < 0 || power_on(f))
            _exit(2);
        startup(f);
        run(f, tc_pcr_extend(f->cmd, 16, 0x72));
        pcr16(f, child);
        _exit(write(fds[1], child, 32) == 32 ? 0 : 3);
    }
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(read(fds[0], child, 32), 32);
    pcr16(f, seen);
    assert_memory_equal(seen, child, 32);
    run(f, tc_pcr_extend(f->cmd, 16, 0x73));
    pcr16(f, mine);
    close_be(f);

    pid = fork_child();
    if (pid == 0) {
        if (open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND) < 0 || !power_on(f))
            _exit(2);
        pcr16(f, seen);
        _exit(write(fds[1], seen, 32) == 32 ? 0 : 3);
    }
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(read(fds[0], seen, 32), 32);
    assert_memory_equal(seen, mine, 32);
    close(fds[0]);
    close(fds[1]);
}

/* A volatile file that does not pair with the NV file (a process died
 * between writing the two) means power loss, not resume. */
static void test_unpaired_volatile_is_power_loss(void **state)
{
    struct fx *f = *state;
    struct state_store *st;
    struct state_info info;
    uint8_t *nv;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    close_be(f);

    assert_int_equal(state_store_open(f->dir, &st), 0);
    assert_int_equal(state_store_read(st, NV_FILE, 0x564e3254u, &nv, &info), 0);
    info.generation += 10;
    assert_int_equal(state_store_write(st, NV_FILE, &info, nv, true), 0);
    free(nv);
    state_store_close(st);

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    assert_non_null(strstr(log_captured(), "power loss"));
    startup(f);
}

/* The volatile state on disk pairs with the NV file (its link is the NV
 * file's generation), or the next process sees a power loss. */
static void expect_paired(struct fx *f)
{
    struct state_store *st;
    struct state_info vol = { 0 };

    assert_int_equal(state_store_open(f->dir, &st), 0);
    assert_int_equal(state_store_peek_slots(st, VOL_FILE, 0x4c4f5654u, &vol), 0);
    state_store_close(st);
    assert_int_equal(vol.link, generation(f, NV_FILE));
}

/* Resume in a new process, PCR 16 as @pcr, no power loss. */
static void expect_resume(struct fx *f, const uint8_t pcr[32])
{
    uint8_t now[32];

    log_capture_start();
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_true(power_on(f));
    pcr16(f, now);
    assert_memory_equal(pcr, now, 32);
    assert_null(strstr(log_captured(), "power loss"));
}

/* libtpms stores its NV image once at every power-on; when that image is
 * not the one it was given (here: a blob with bytes libtpms ignores, as a
 * state of an older libtpms could be), NV is dirty from the start. It was
 * written at power-on then, alone: the volatile file on disk still linked
 * to the NV file it replaced, and the next process to load the state (a
 * new one, or one already running that reloads before its next command)
 * took it for a power loss: PCRs reset, sessions gone. Power-on → reload,
 * with and without a command in between. */
static void test_power_on_keeps_volatile_paired(void **state)
{
    struct fx *f = *state;
    struct state_store *st;
    struct state_info info;
    uint8_t pcr[32], *nv, *padded;
    uint64_t nv_gen;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    assert_int_equal(run(f, tc_pcr_extend(f->cmd, 16, 0x66)), TPM_RC_SUCCESS);
    pcr16(f, pcr);
    close_be(f);

    /* The same NV state with trailing bytes, same generation: still paired
     * with the volatile state. */
    assert_int_equal(state_store_open(f->dir, &st), 0);
    assert_int_equal(state_store_read(st, NV_FILE, 0x564e3254u, &nv, &info), 0);
    padded = calloc(1, info.len + 16);
    assert_non_null(padded);
    memcpy(padded, nv, info.len);
    info.len += 16;
    assert_int_equal(state_store_write(st, NV_FILE, &info, padded, true), 0);
    nv_gen = info.generation;
    free(nv);
    free(padded);
    state_store_close(st);
    expect_paired(f);

    /* A process that powers on and off without a command (a pipe whose
     * client sent none) leaves a state that still pairs. */
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_true(power_on(f));
    close_be(f);
    expect_paired(f);
    expect_resume(f, pcr);

    /* That one's command wrote the NV image libtpms stored at its start
     * together with the volatile state. */
    assert_true(generation(f, NV_FILE) > nv_gen);
    expect_paired(f);
    close_be(f);
    expect_resume(f, pcr);
}

static void expect_corrupt_refused(struct fx *f, const char *name)
{
    uint8_t before[65536], after[65536];
    char path[512];
    size_t n;
    bool resumed;

    n = read_file(f->dir, name, before, sizeof(before));
    assert_true(n > 0);
    log_capture_start();
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_int_equal(f->be->ops->power_on(f->be, BUF, &resumed), -EBADMSG);
    close_be(f);
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    assert_non_null(strstr(log_captured(), path));
    assert_int_equal(read_file(f->dir, name, after, sizeof(after)), n);
    assert_memory_equal(before, after, n);
}

static void test_corrupt_files_refused_untouched(void **state)
{
    struct fx *f = *state;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    close_be(f);

    /* Startup wrote one slot: with it corrupt no valid volatile state is
     * left, which is an error, not a silent power loss. */
    assert_int_equal(file_size(f->dir, VOL_SLOT1), -1);
    flip_byte(f->dir, VOL_SLOT0, 200);
    expect_corrupt_refused(f, VOL_SLOT0);
    flip_byte(f->dir, VOL_SLOT0, 200); /* repaired */
    truncate_file(f->dir, NV_FILE, file_size(f->dir, NV_FILE) - 1);
    expect_corrupt_refused(f, NV_FILE);
}

/* A volatile write cut short (killed mid-write) leaves the other slot, the
 * state after the last completed command, current. */
static void test_torn_volatile_write_falls_back(void **state)
{
    struct fx *f = *state;
    uint8_t initial[32], pcr[32];
    uint64_t gen;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);                     /* slot 0 */
    pcr16(f, initial);              /* slot 1 */
    run(f, tc_pcr_extend(f->cmd, 16, 0x55)); /* slot 0 */
    gen = generation(f, VOL_FILE);
    close_be(f);
    truncate_file(f->dir, VOL_SLOT0, 3000);

    log_capture_start();
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_true(power_on(f));
    pcr16(f, pcr);
    assert_memory_equal(pcr, initial, 32);
    /* That command's save went to the torn slot, repairing it. */
    assert_true(generation(f, VOL_FILE) > gen);
    assert_string_equal(log_captured(), "");
}

/* Volatile state without its NV file is the remains of a TPM, not an
 * empty directory: no new TPM is manufactured over it. */
static void test_missing_nv_refused(void **state)
{
    struct fx *f = *state;
    char path[512];
    bool resumed;

    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_false(power_on(f));
    startup(f);
    close_be(f);
    snprintf(path, sizeof(path), "%s/%s", f->dir, NV_FILE);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_PER_COMMAND), 0);
    assert_int_equal(f->be->ops->power_on(f->be, BUF, &resumed), -ENOENT);
    assert_non_null(strstr(log_captured(), path));
    assert_int_equal(file_size(f->dir, NV_FILE), -1);
}

/* A state file that passes the checksum but that libtpms rejects. */
static void test_rejected_blob_named(void **state)
{
    struct fx *f = *state;
    struct state_store *st;
    struct state_info info = { .type = 0x564e3254u, .generation = 1, .len = 5 };
    bool resumed;

    assert_int_equal(state_store_open(f->dir, &st), 0);
    assert_int_equal(state_store_write(st, NV_FILE, &info,
                                       (const uint8_t *)"junk!", true), 0);
    state_store_close(st);
    assert_int_equal(open_be(f, true, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_int_equal(f->be->ops->power_on(f->be, BUF, &resumed), -EBADMSG);
    assert_non_null(strstr(log_captured(), NV_FILE));
    assert_int_equal(file_size(f->dir, NV_FILE), STATE_HEADER_SIZE + 5);
}

static void test_snapshot_roundtrip(void **state)
{
    struct fx *f = *state;
    uint8_t saved[32], now[32];
    uint8_t *blob;
    size_t len;

    assert_int_equal(open_be(f, false, TPMCRB_STATE_SYNC_OWNER), 0);
    assert_false(power_on(f));
    startup(f);
    run(f, tc_pcr_extend(f->cmd, 16, 0x33));
    pcr16(f, saved);
    assert_int_equal(f->be->ops->save_state(f->be, &blob, &len), 0);
    run(f, tc_pcr_extend(f->cmd, 16, 0x44));
    pcr16(f, now);
    assert_memory_not_equal(saved, now, 32);

    assert_int_equal(f->be->ops->load_state(f->be, blob, len - 1), -EINVAL);
    pcr16(f, now); /* still running on the old state */
    assert_int_equal(f->be->ops->load_state(f->be, blob, len), 0);
    pcr16(f, now);
    assert_memory_equal(saved, now, 32);
    free(blob);
}

static void test_locality_and_established(void **state)
{
    struct fx *f = *state;
    const struct tpmcrb_backend_ops *ops;

    assert_int_equal(open_be(f, false, TPMCRB_STATE_SYNC_OWNER), 0);
    ops = f->be->ops;
    assert_false(power_on(f));
    startup(f);
    /* PCR 17 (DRTM) cannot be extended from locality 0 (PC Client). */
    assert_int_not_equal(run_at(f, 0, tc_pcr_extend(f->cmd, 17, 1)),
                         TPM_RC_SUCCESS);
    assert_int_equal(run_at(f, 4, tc_pcr_extend(f->cmd, 17, 1)),
                     TPM_RC_SUCCESS);
    /* A DRTM hash sequence (locality 4) sets tpmEstablished. */
    assert_int_equal(TPM_IO_Hash_Start(), 0);
    assert_int_equal(TPM_IO_Hash_End(), 0);
    assert_true(ops->get_established(f->be));
    assert_int_equal(ops->reset_established(f->be, 0), -EPERM);
    assert_true(ops->get_established(f->be));
    assert_int_equal(ops->reset_established(f->be, 3), 0);
    assert_false(ops->get_established(f->be));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_one_instance_per_process),
        T(test_memory_startup_random_resume),
        T(test_nv_survives_crash_owner),
        T(test_resume_owner),
        T(test_per_command_saves_each_command),
        T(test_per_command_reload),
        T(test_per_command_follows_power_cycle),
        T(test_unpaired_volatile_is_power_loss),
        T(test_power_on_keeps_volatile_paired),
        T(test_corrupt_files_refused_untouched),
        T(test_torn_volatile_write_falls_back),
        T(test_missing_nv_refused),
        T(test_rejected_blob_named),
        T(test_snapshot_roundtrip),
        T(test_locality_and_established),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
