/* SPDX-License-Identifier: BSD-3-Clause */
/* The fast path: a command the backend knows to be quick runs on the thread
 * that wrote START; every other command, and every command of a device
 * without a sync bound, goes to the worker; state a quick command changed
 * is made durable on the worker before its response shows; a long command
 * still returns the START write after the bound and can be cancelled. The
 * fake backend says which thread ran what; then the same with libtpms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "fake_backend.h"
#include "tpm_commands.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Long enough that a quick command always completes inside the write. */
#define BOUND_US 2000000u

static struct tt_fake_device *make(uint32_t bound_us)
{
    return tt_fake_device_new(bound_us, TPM_CC_GetRandom);
}

static int setup(void **state) { *state = make(BOUND_US); return 0; }
/* A bound the long command of the fake always outlasts. */
static int setup_short(void **state) { *state = make(1000); return 0; }
static int setup_async(void **state) { *state = make(0); return 0; }

static int teardown(void **state)
{
    tt_fake_device_free(*state);
    return 0;
}

static void start(struct tt_fake_device *f, uint32_t code)
{
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    tpm_build_command(b, 4096, code, (const uint8_t *)"\x00\x08", 2);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
}

static uint32_t start_reg(struct tt_fake_device *f)
{
    return tt_reg_read(f->dev, 0, CRB_CTRL_START);
}

static struct tpmcrb_stats stats(struct tt_fake_device *f)
{
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;

    assert_int_equal(tpmcrb_get_stats(f->dev, &st), 0);
    return st;
}

/* A quick command: run by the writer itself, done when the write returns. */
static void quick_command_runs_on_start_thread(void **state)
{
    struct tt_fake_device *f = *state;
    struct tpmcrb_stats st;

    start(f, TPM_CC_GetRandom);
    assert_int_equal(start_reg(f), 0);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 1);
    assert_int_equal(atomic_load(&f->fake.executed), 0);
    assert_true(pthread_equal(f->fake.quick_thread, pthread_self()));
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_SUCCESS);
    st = stats(f);
    assert_int_equal(st.commands, 1);
    assert_int_equal(st.ran_on_start_thread, 1);
    assert_int_equal(st.completed_sync, 1);
}

/* A command the backend declines goes to the worker thread. */
static void declined_command_runs_on_worker(void **state)
{
    struct tt_fake_device *f = *state;
    struct tpmcrb_stats st;

    start(f, TPM_CC_CreatePrimary);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(start_reg(f), 0);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 0);
    assert_false(pthread_equal(f->fake.execute_thread, pthread_self()));
    st = stats(f);
    assert_int_equal(st.ran_on_start_thread, 0);
    /* Then a quick one on the same device takes the fast path again. */
    start(f, TPM_CC_GetRandom);
    assert_int_equal(start_reg(f), 0);
    assert_int_equal(stats(f).ran_on_start_thread, 1);
}

/* Without a sync bound a START write never runs a command itself. */
static void async_device_never_runs_commands_in_the_write(void **state)
{
    struct tt_fake_device *f = *state;

    start(f, TPM_CC_GetRandom);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 0);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_false(pthread_equal(f->fake.execute_thread, pthread_self()));
    assert_int_equal(stats(f).ran_on_start_thread, 0);
}

/* State a quick command changed is written on the worker, and the guest
 * sees the response only after that: the write returns after its bound
 * with START still set while the commit cannot finish. */
static void commit_on_worker_before_the_response(void **state)
{
    struct tt_fake_device *f = *state;

    f->fake.quick_commit = true;
    atomic_store(&f->fake.block_commit, true);
    start(f, TPM_CC_GetRandom);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 1);
    assert_int_equal(start_reg(f), 1);
    assert_true(tpmcrb_busy(f->dev));
    assert_int_equal(atomic_load(&f->fake.commits), 0);
    atomic_store(&f->fake.block_commit, false);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(atomic_load(&f->fake.commits), 1);
    assert_int_equal(start_reg(f), 0);
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_SUCCESS);
    assert_int_equal(atomic_load(&f->fake.executed), 0);
}

/* A long command: the write returns after the bound, the command still
 * runs on the worker, and CANCEL reaches it there. */
static void long_command_bounded_and_cancelled(void **state)
{
    struct tt_fake_device *f = *state;

    atomic_store(&f->fake.block, true);
    start(f, TPM_CC_CreatePrimary);
    assert_int_equal(start_reg(f), 1);
    assert_true(tpmcrb_busy(f->dev));
    assert_int_equal(atomic_load(&f->fake.quick_executed), 0);
    assert_true(fake_backend_wait_entered(&f->fake, 1)); /* on the worker */
    tt_reg_write(f->dev, 0, CRB_CTRL_CANCEL, 1);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(atomic_load(&f->fake.cancels), 1);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_false(pthread_equal(f->fake.execute_thread, pthread_self()));
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_CANCELED);
    assert_int_equal(start_reg(f), 0);
}

/* The embedded libtpms: GetRandom, PCR_Extend and PCR_Read on the START
 * thread, Startup and a key generation on the worker, all answered. */
static void libtpms_quick_and_long_commands(void **state)
{
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct tpmcrb_config cfg;
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;
    struct crb_driver d = { 0 };
    uint8_t cmd[4096], rsp[4096];
    uint32_t len, rsp_len;

    (void)state;
    tt_config(&cfg, TPMCRB_LAYOUT_SPLIT, 5, BOUND_US);
    tt_device_open("libtpms", NULL, &cfg, &be, &dev);
    assert_int_equal(crb_driver_init(&d, dev, 0), 0);

    len = tc_startup(cmd, TPM_SU_CLEAR);
    assert_int_equal(tt_transmit(&d, cmd, len, rsp, sizeof(rsp), &rsp_len),
                     TPM_RC_SUCCESS);
    len = tc_get_random(cmd, 16);
    assert_int_equal(tt_transmit(&d, cmd, len, rsp, sizeof(rsp), &rsp_len),
                     TPM_RC_SUCCESS);
    tt_check_getrandom(rsp, rsp_len, 16);
    len = tc_pcr_extend(cmd, 16, 0xA5);
    assert_int_equal(tt_transmit(&d, cmd, len, rsp, sizeof(rsp), &rsp_len),
                     TPM_RC_SUCCESS);
    len = tc_pcr_read(cmd, 1u << 16);
    assert_int_equal(tt_transmit(&d, cmd, len, rsp, sizeof(rsp), &rsp_len),
                     TPM_RC_SUCCESS);
    assert_non_null(tc_pcr_read_digest(rsp, rsp_len));
    assert_int_equal(tpmcrb_get_stats(dev, &st), 0);
    assert_int_equal(st.commands, 4);
    assert_int_equal(st.ran_on_start_thread, 3); /* not Startup */

    len = tc_create_primary_rsa(cmd, 2048);
    assert_int_equal(tt_transmit(&d, cmd, len, rsp, sizeof(rsp), &rsp_len),
                     TPM_RC_SUCCESS);
    assert_int_equal(tpmcrb_get_stats(dev, &st), 0);
    assert_int_equal(st.commands, 5);
    assert_int_equal(st.ran_on_start_thread, 3);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(quick_command_runs_on_start_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(declined_command_runs_on_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(async_device_never_runs_commands_in_the_write, setup_async, teardown),
        cmocka_unit_test_setup_teardown(commit_on_worker_before_the_response, setup_short, teardown),
        cmocka_unit_test_setup_teardown(long_command_bounded_and_cancelled, setup_short, teardown),
        cmocka_unit_test(libtpms_quick_and_long_commands),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
