/* SPDX-License-Identifier: BSD-3-Clause */
/* CTRL_CANCEL against the executor: a command cancelled before the backend
 * was given it never reaches the backend and is answered TPM_RC_CANCELED
 * by the device (and counted); one the backend is running gets the
 * backend's cancel(); a cancel that comes after the command ran leaves the
 * next command alone. The fake backend says what it saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/device_io.h"
#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "fake_backend.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <stdio.h>

/* A sync bound the blocked commands of these tests outlast (a quick
 * command runs in the write whatever the bound). */
#define BOUND_US 1000u

static struct tt_fake_device *make(uint32_t bound_us)
{
    return tt_fake_device_new(bound_us, TPM_CC_GetRandom);
}

static int setup_sync(void **state) { *state = make(BOUND_US); return 0; }
static int setup_async(void **state) { *state = make(0); return 0; }

static int teardown(void **state)
{
    tt_fake_device_free(*state);
    return 0;
}

/* A command with code @code in locality 0's buffer (GetRandom is the
 * fake's quick one; CreatePrimary goes to the worker). */
static void put_cmd(struct tt_fake_device *f, uint32_t code)
{
    tpm_build_command(tt_cmd_buffer(f->dev, 0), 4096, code,
                      (const uint8_t *)"\x00\x08", 2);
}

static void cancel(struct tt_fake_device *f, uint32_t v)
{
    tt_reg_write(f->dev, 0, CRB_CTRL_CANCEL, v);
}

static uint64_t cancelled_before_start(struct tt_fake_device *f)
{
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;

    assert_int_equal(tpmcrb_get_stats(f->dev, &st), 0);
    return st.cancelled_before_start;
}

/* The whole response is the device's TPM_RC_CANCELED. */
static void assert_device_cancelled(struct tt_fake_device *f)
{
    const uint8_t *rsp = tt_cmd_buffer(f->dev, 0);

    assert_int_equal(tpm_be16(rsp), TPM_ST_NO_SESSIONS);
    assert_int_equal(tpm_hdr_size(rsp), TPM_HEADER_SIZE);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_CANCELED);
    assert_int_equal(tt_reg_read(f->dev, 0, CRB_CTRL_START), 0);
    assert_false(tpmcrb_busy(f->dev));
}

/* A CreatePrimary that must run on the backend and succeed. */
static void next_command_runs(struct tt_fake_device *f)
{
    unsigned executed = atomic_load(&f->fake.executed);

    put_cmd(f, TPM_CC_CreatePrimary);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
    device_run_pending(f->dev); /* inline mode: runs it here */
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(atomic_load(&f->fake.executed), executed + 1);
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_SUCCESS);
}

/* Inline mode holds the job until device_run_pending(), the executor's
 * job runner that the worker uses too: the cancel comes first. */
static void cancel_before_the_job_is_picked_up(void **state)
{
    struct tt_fake_device *f = *state;

    device_set_inline(f->dev, true);
    put_cmd(f, TPM_CC_CreatePrimary);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
    assert_true(tpmcrb_busy(f->dev));
    cancel(f, 1);
    device_run_pending(f->dev);
    assert_device_cancelled(f);
    assert_int_equal(atomic_load(&f->fake.entered), 0);
    assert_int_equal(atomic_load(&f->fake.cancels), 0);
    assert_int_equal(cancelled_before_start(f), 1);
    /* The cancel was that command's: the next one runs. */
    cancel(f, 0);
    next_command_runs(f);
    assert_int_equal(cancelled_before_start(f), 1);
    /* Even with CANCEL left at 1 (a write of 1 is a request; nothing new
     * was requested for this command). */
    cancel(f, 1);
    next_command_runs(f);
    assert_int_equal(cancelled_before_start(f), 1);
}

/* The fast path: the START write returned to the transport, which has not
 * called device_wait_started() yet when the cancel comes; the backend's
 * execute_quick() is not called either. */
static void cancel_before_the_fast_path_runs_it(void **state)
{
    struct tt_fake_device *f = *state;
    uint32_t seq;

    put_cmd(f, TPM_CC_GetRandom);
    assert_true(device_guest_write(f->dev, CRB_CTRL_START, 4, 1, &seq));
    cancel(f, 1);
    device_wait_started(f->dev, seq);
    assert_device_cancelled(f);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 0);
    assert_int_equal(atomic_load(&f->fake.entered), 0);
    assert_int_equal(atomic_load(&f->fake.cancels), 0);
    assert_int_equal(cancelled_before_start(f), 1);
    cancel(f, 0);
    put_cmd(f, TPM_CC_GetRandom);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 1);
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_SUCCESS);
    assert_int_equal(cancelled_before_start(f), 1);
}

/* A command the backend is running: the cancel goes to the backend. */
static void cancel_during_execution_reaches_the_backend(void **state)
{
    struct tt_fake_device *f = *state;

    atomic_store(&f->fake.block, true);
    put_cmd(f, TPM_CC_CreatePrimary);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
    assert_true(fake_backend_wait_entered(&f->fake, 1));
    cancel(f, 1);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(atomic_load(&f->fake.cancels), 1);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_CANCELED);
    assert_int_equal(cancelled_before_start(f), 0);
}

/* The cancel comes after the backend ran the command, while the device is
 * still busy writing its state (commit() on the worker): the backend hears
 * of it, the command's own response stands, and the next command, which
 * goes to the worker, runs as if no cancel had come. */
static void cancel_after_the_command_ran_leaves_the_next_alone(void **state)
{
    struct tt_fake_device *f = *state;

    f->fake.quick_commit = true;
    atomic_store(&f->fake.block_commit, true);
    put_cmd(f, TPM_CC_GetRandom);
    tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
    assert_int_equal(atomic_load(&f->fake.quick_executed), 1);
    assert_true(tpmcrb_busy(f->dev));
    cancel(f, 1);
    assert_int_equal(atomic_load(&f->fake.cancels), 1);
    atomic_store(&f->fake.block_commit, false);
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
    assert_int_equal(tpm_hdr_code(tt_cmd_buffer(f->dev, 0)), TPM_RC_SUCCESS);
    cancel(f, 0);
    next_command_runs(f);
    assert_int_equal(cancelled_before_start(f), 0);
}

/* START and CANCEL back to back against the worker: whichever wins, the
 * command either never reached the backend (device's TPM_RC_CANCELED,
 * counted) or ran there once (the fake, not blocked, answers success). */
static void start_and_cancel_race_the_worker(void **state)
{
    struct tt_fake_device *f = *state;
    unsigned before_start = 0, ran = 0;

    for (unsigned i = 0; i < 300; i++) {
        uint64_t counted = cancelled_before_start(f);
        unsigned executed = atomic_load(&f->fake.executed);
        uint32_t rc;

        put_cmd(f, TPM_CC_CreatePrimary);
        tt_reg_write(f->dev, 0, CRB_CTRL_START, 1);
        cancel(f, 1);
        assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
        cancel(f, 0);
        rc = tpm_hdr_code(tt_cmd_buffer(f->dev, 0));
        if (cancelled_before_start(f) == counted + 1) {
            assert_int_equal(atomic_load(&f->fake.executed), executed);
            assert_int_equal(rc, TPM_RC_CANCELED);
            before_start++;
        } else {
            assert_int_equal(cancelled_before_start(f), counted);
            assert_int_equal(atomic_load(&f->fake.executed), executed + 1);
            assert_int_equal(rc, TPM_RC_SUCCESS);
            ran++;
        }
    }
    printf("# %u cancelled before the backend, %u ran\n", before_start, ran);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cancel_before_the_job_is_picked_up, setup_async, teardown),
        cmocka_unit_test_setup_teardown(cancel_before_the_fast_path_runs_it, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(cancel_during_execution_reaches_the_backend, setup_async, teardown),
        cmocka_unit_test_setup_teardown(cancel_during_execution_reaches_the_backend, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(cancel_after_the_command_ran_leaves_the_next_alone, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(start_and_cancel_race_the_worker, setup_async, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
