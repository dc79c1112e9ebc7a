/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One conformance suite for every backend: the same TPM sequences through
 * the device (Linux-order CRB protocol) with the same expected results.
 * usage: conformance BACKEND-SPEC   (exit 77 when the backend is missing)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "tools/cli/crb_driver.h"
#include "tpm_commands.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NV_INDEX 0x01500016u

static const char *spec;

struct fx {
    char dir[64];
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct crb_driver drv;
    uint8_t rsp[4096];
    uint32_t rsp_len;
};

static void power_on(struct fx *f)
{
    struct tpmcrb_backend_options bo = { .size = sizeof(bo), .state_dir = f->dir };

    tt_device_open(spec, &bo, NULL, &f->be, &f->dev);
}

static void power_off(struct fx *f)
{
    tpmcrb_device_free(f->dev);
    tpmcrb_backend_close(f->be);
    f->dev = NULL;
    f->be = NULL;
}

/* Send @b from @locality; returns the response code. */
static uint32_t run(struct fx *f, unsigned locality, const struct tpm_buf *b)
{
    assert_int_equal(crb_driver_init(&f->drv, f->dev, locality), 0);
    f->drv.timeout_ms = 60000;
    return tt_transmit(&f->drv, b->data, b->len, f->rsp, sizeof(f->rsp),
                       &f->rsp_len);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct tpm_buf b;

    strcpy(f->dir, "/tmp/tpmcrb-conf-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    power_on(f);
    /* A TPM the backend found running (passthrough) is started already. */
    b.len = tc_startup(b.data, TPM_SU_CLEAR);
    assert_int_equal(run(f, 0, &b), tpmcrb_device_tpm_resumed(f->dev) ?
                     TPM_RC_INITIALIZE : TPM_RC_SUCCESS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    if (f->dev)
        power_off(f);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

static void getrandom(void **state)
{
    struct fx *f = *state;
    struct tpm_buf b;

    b.len = tc_get_random(b.data, 32);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    tt_check_getrandom(f->rsp, f->rsp_len, 32);
}

static void pcr_extend_and_read(void **state)
{
    struct fx *f = *state;
    uint8_t data[32], cat[64], want[32];
    const uint8_t *got;
    struct tpm_buf b;

    for (int i = 0; i < 32; i++)
        data[i] = (uint8_t)(i * 7);
    b.len = tc_pcr_reset(b.data, 16);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    b.len = tc_pcr_extend_digest(b.data, 16, data);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    b.len = tc_pcr_read(b.data, 1u << 16);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    memset(cat, 0, 32);
    memcpy(cat + 32, data, 32);
    SHA256(cat, sizeof(cat), want);
    got = tc_pcr_read_digest(f->rsp, f->rsp_len);
    assert_non_null(got);
    assert_memory_equal(got, want, 32);
}

static void nv_define_write_read_across_power_cycle(void **state)
{
    struct fx *f = *state;
    uint8_t data[32];
    const uint8_t *got;
    struct tpm_buf b;
    uint16_t n;
    bool resumed;

    for (int i = 0; i < 32; i++)
        data[i] = (uint8_t)(0xC0 + i);
    b.len = tc_nv_define(b.data, NV_INDEX, 32, TC_NV_OWNER_RW);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    b.len = tc_nv_write(b.data, NV_INDEX, data, 32);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    power_off(f);
    power_on(f);
    resumed = tpmcrb_device_tpm_resumed(f->dev);
    b.len = tc_startup(b.data, TPM_SU_CLEAR);
    assert_int_equal(run(f, 0, &b), resumed ? TPM_RC_INITIALIZE : TPM_RC_SUCCESS);
    b.len = tc_nv_read(b.data, NV_INDEX, 32);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    got = tc_nv_read_data(f->rsp, f->rsp_len, &n);
    assert_non_null(got);
    assert_int_equal(n, 32);
    assert_memory_equal(got, data, 32);
    b.len = tc_nv_undefine(b.data, NV_INDEX);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
}

/* Passthrough sends to the kernel's TPM device: no locality, cancel or
 * platform reset reaches the TPM, and /dev/tpmrm0 maps transient handles. */
static bool is_passthrough(void)
{
    return strncmp(spec, "passthrough", 11) == 0;
}

/* A command of the whole 4 KiB buffer crosses the device intact: the TPM
 * parses all of it and refuses the sequence handle that is not loaded.
 * The kernel's resource manager refuses a transient handle it does not
 * know itself (read() fails with EINVAL): passthrough names a persistent
 * one, which it passes on unchanged. */
static void four_kib_command(void **state)
{
    struct fx *f = *state;
    struct tpm_buf b;
    uint32_t rc;

    b.len = tc_sequence_update_padded(b.data, 4096, is_passthrough() ?
                                      0x81FFFFFFu : 0x80000000u);
    assert_int_equal(b.len, 4096);
    rc = run(f, 0, &b);
    assert_int_not_equal(rc, TPM_RC_SUCCESS);
    assert_int_not_equal(rc, TPM_RC_COMMAND_SIZE);
    if (is_passthrough())
        assert_int_equal(rc, 0x18B); /* TPM_RC_HANDLE + handle 1 */
    else
        assert_int_equal(rc, 0x910); /* TPM_RC_REFERENCE_H0: not loaded */
    assert_int_equal(f->rsp_len, TPM_HEADER_SIZE);
}

/* A transient handle the guest never loaded: the TPM answers
 * TPM_RC_REFERENCE_H0; through /dev/tpmrm0 the host's resource manager
 * refuses it before the TPM sees it (read() fails with EINVAL) and the
 * backend answers TPM_RC_HANDLE. Either way the TPM keeps working. */
static void unknown_transient_handle(void **state)
{
    struct fx *f = *state;
    struct tpm_buf b;

    b.len = tc_sequence_update_padded(b.data, 64, 0x80000000u);
    assert_int_equal(run(f, 0, &b), is_passthrough() ? TPM_RC_HANDLE : 0x910);
    b.len = tc_get_random(b.data, 8);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
}

/* Localities reach the TPM: PCR 20 may be reset from locality 2 only
 * (PC Client PCR attributes), PCR 16 from any. Passthrough commands come
 * from the kernel's locality (0), whatever the guest used. */
static void locality_dependent_pcr_reset(void **state)
{
    struct fx *f = *state;
    struct tpm_buf b;

    b.len = tc_pcr_reset(b.data, 20);
    assert_int_equal(run(f, 0, &b), TPM_RC_LOCALITY);
    assert_int_equal(run(f, 1, &b), TPM_RC_LOCALITY);
    assert_int_equal(run(f, 2, &b),
                     is_passthrough() ? TPM_RC_LOCALITY : TPM_RC_SUCCESS);
    b.len = tc_pcr_reset(b.data, 16);
    assert_int_equal(run(f, 3, &b), TPM_RC_SUCCESS);
}

/*
 * The embedded libtpms is cancelled from another thread while it works.
 * swtpm in socket mode is single-threaded: it reads CANCEL_TPM_CMD only
 * after the command is done, and libtpms clears the flag when the next
 * command starts, so a cancel there never takes effect. Linux offers a
 * sysfs cancel for TPM 1.2 chips only: passthrough to a TPM 2.0 never
 * cancels either.
 */
static bool backend_cancels_running_commands(void)
{
    return strncmp(spec, "swtpm", 5) != 0 && !is_passthrough();
}

/* A guest reboot: _TPM_Init, so Startup is due and PCRs start over. A
 * kernel's TPM device cannot be reset: passthrough resets only the CRB
 * registers, the TPM goes on as it was (started, PCR 16 kept). */
static void platform_reset(void **state)
{
    struct fx *f = *state;
    uint8_t data[32] = { 1 }, before[32], zero[32] = { 0 };
    bool kept = is_passthrough();
    const uint8_t *got;
    struct tpm_buf b;

    b.len = tc_pcr_extend_digest(b.data, 16, data);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    b.len = tc_pcr_read(b.data, 1u << 16);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    got = tc_pcr_read_digest(f->rsp, f->rsp_len);
    assert_non_null(got);
    memcpy(before, got, 32);
    tpmcrb_device_reset(f->dev);
    b.len = tc_get_random(b.data, 8);
    assert_int_equal(run(f, 0, &b), kept ? TPM_RC_SUCCESS : TPM_RC_INITIALIZE);
    b.len = tc_startup(b.data, TPM_SU_CLEAR);
    assert_int_equal(run(f, 0, &b), kept ? TPM_RC_INITIALIZE : TPM_RC_SUCCESS);
    b.len = tc_pcr_read(b.data, 1u << 16);
    assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
    assert_memory_equal(tc_pcr_read_digest(f->rsp, f->rsp_len),
                        kept ? before : zero, 32);
}

static uint32_t rd(struct fx *f, uint32_t reg)
{
    return crb_driver_read32(&f->drv, reg);
}

/* One long command (RSA key generation) cancelled through CTRL_CANCEL
 * 1 ms after START; the TPM's response code. The device must stay
 * healthy whatever the outcome. */
static uint32_t cancel_one_long_command(struct fx *f, uint64_t *before_start)
{
    struct timespec ms = { 0, 1000000 };
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;
    struct tpm_buf b;
    uint8_t *buf = tpmcrb_buffer_mem(f->dev);
    uint32_t code;
    int waited = 0;

    b.len = tc_create_primary_rsa(b.data, 3072);
    crb_driver_write32(&f->drv, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    crb_driver_write32(&f->drv, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    memcpy(buf, b.data, b.len);
    crb_driver_write32(&f->drv, CRB_CTRL_START, 1);
    nanosleep(&ms, NULL);
    assert_int_equal(rd(f, CRB_CTRL_START), 1); /* still generating */
    crb_driver_write32(&f->drv, CRB_CTRL_CANCEL, 1);
    while ((rd(f, CRB_CTRL_START) & 1) && waited++ < 60000)
        nanosleep(&ms, NULL);
    assert_int_equal(rd(f, CRB_CTRL_START), 0);
    assert_int_equal(rd(f, CRB_CTRL_STS) & CTRL_STS_FATAL, 0);
    code = tpm_hdr_code(buf);
    assert_int_equal(tpmcrb_get_stats(f->dev, &st), 0);
    assert_true(st.cancelled_before_start <= *before_start + 1);
    if (st.cancelled_before_start > *before_start) {
        printf("# the cancel came before the backend had the command\n");
        assert_int_equal(code, TPM_RC_CANCELED);
    }
    *before_start = st.cancelled_before_start;
    crb_driver_write32(&f->drv, CRB_CTRL_CANCEL, 0);
    crb_driver_write32(&f->drv, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    return code;
}

/* Cancel works and the TPM keeps working, whatever the backend. On a
 * loaded host the worker may not have handed the command to the backend
 * yet when the cancel comes; the device then answers TPM_RC_CANCELED
 * itself and counts it. A backend that can stop a running command
 * (libtpms) may still complete it: the cancel can land in the short
 * stretches where libtpms forgets it (src/backend/libtpms.c, process()),
 * or after the key is found; a TPM may complete a cancelled command. So
 * such a backend gets a few attempts, each either cancelled or a
 * complete success (its object flushed), and one of them must be
 * cancelled. swtpm's and the host's TPM finish the command. */
static void cancel_long_command(void **state)
{
    struct fx *f = *state;
    struct tpm_buf b;
    uint64_t before_start = 0;
    uint32_t code = 0;
    int attempt;

    assert_int_equal(crb_driver_init(&f->drv, f->dev, 0), 0);
    for (attempt = 0; attempt < 4; attempt++) {
        code = cancel_one_long_command(f, &before_start);
        if (code == TPM_RC_CANCELED)
            break;
        assert_int_equal(code, TPM_RC_SUCCESS);
        printf("# attempt %d: the command completed despite the cancel\n",
               attempt + 1);
        b.len = tc_flush_context(b.data,
                                 tpm_be32((const uint8_t *)tpmcrb_buffer_mem(f->dev) + 10));
        assert_int_equal(run(f, 0, &b), TPM_RC_SUCCESS);
        if (!backend_cancels_running_commands())
            break;
    }
    assert_int_equal(code, backend_cancels_running_commands() || before_start ?
                     TPM_RC_CANCELED : TPM_RC_SUCCESS);
    /* The TPM goes on working. */
    getrandom(state);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(getrandom, setup, teardown),
        cmocka_unit_test_setup_teardown(pcr_extend_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(nv_define_write_read_across_power_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(four_kib_command, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_transient_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(locality_dependent_pcr_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_long_command, setup, teardown),
        cmocka_unit_test_setup_teardown(platform_reset, setup, teardown),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: conformance BACKEND-SPEC\n");
        return 2;
    }
    spec = argv[1];
    if (!strncmp(spec, "swtpm", 5) && access("/usr/bin/swtpm", X_OK) != 0) {
        printf("SKIP: swtpm is not installed\n");
        return 77;
    }
    return cmocka_run_group_tests_name(spec, tests, NULL, NULL);
}
