/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The passthrough backend.
 *   test-passthrough unit    error paths and local checks, using character
 *                            devices every Linux has: /dev/null (takes
 *                            commands, never answers), /dev/zero (answers
 *                            garbage), /dev/full (refuses commands).
 *   test-passthrough device  a real TPM: $TPMCRB_PASSTHROUGH_DEVICE or
 *                            /dev/tpmrm0; exits 77 with the reason when
 *                            there is none. Sends only read-only commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/test_hooks.h"
#include "util/tpm_cmd.h"
#include "test_files.h"
#include "tpm_commands.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF TT_BUF

static const char *device;

/* The backend under test and its command buffers. */
struct fx {
    struct tt_backend io;
};

static char debug_log[4096];

static void capture_all(enum tpmcrb_log_level level, const char *msg,
                        void *opaque)
{
    size_t used = strlen(debug_log);

    (void)level; (void)opaque;
    snprintf(debug_log + used, sizeof(debug_log) - used, "%s\n", msg);
}

static void capture_debug(void)
{
    debug_log[0] = '\0';
    tpmcrb_log_set(TPMCRB_LOG_DEBUG, capture_all, NULL);
}

static int open_pt(struct fx *f, const char *path)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "passthrough:%s", path);
    return tpmcrb_backend_open(spec, NULL, &f->io.be);
}

static int exec(struct fx *f, unsigned locality, uint32_t len)
{
    return tt_exec(&f->io, locality, len);
}

/* Open passthrough on @path and power it on with a @cap byte buffer. */
static void open_on(struct fx *f, const char *path, uint32_t cap)
{
    assert_int_equal(open_pt(f, path), 0);
    tt_power_on(&f->io, cap);
}

/* A GetRandom to the device at @path fails with -EIO and logs @msg. */
static void getrandom_is_eio(struct fx *f, const char *path, const char *msg)
{
    open_on(f, path, BUF);
    log_capture_start();
    assert_int_equal(exec(f, 0, tc_get_random(f->io.cmd, 8)), -EIO);
    assert_non_null(strstr(log_captured(), msg));
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct fx));
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tt_backend_close(&f->io);
    free(f);
    tpmcrb_log_set(TPMCRB_LOG_WARN, NULL, NULL);
    return 0;
}

/* ------------------------------------------------------------------ unit */

static void missing_device(void **state)
{
    struct fx *f = *state;

    log_capture_start();
    assert_int_equal(open_pt(f, "/nonexistent/tpmrm0"), -ENOENT);
    assert_null(f->io.be);
    assert_non_null(strstr(log_captured(), "/nonexistent/tpmrm0"));
    assert_non_null(strstr(log_captured(), "No such file"));
}

static void not_a_character_device(void **state)
{
    struct fx *f = *state;

    log_capture_start();
    assert_int_equal(open_pt(f, "/proc/self/status"), -ENODEV);
    assert_non_null(strstr(log_captured(), "not a character device"));
}

/* Too big for the host, or a header that claims more than was given:
 * answered here with TPM_RC_COMMAND_SIZE. /dev/null would swallow them,
 * and the test would then see -EIO instead. */
static void size_checks_answer_locally(void **state)
{
    struct fx *f = *state;

    assert_int_equal(open_pt(f, "/dev/null"), 0);
    assert_string_equal(f->io.be->ops->name, "passthrough");
    tt_power_on_expect(&f->io, BUF, true);

    memset(f->io.cmd, 0, sizeof(f->io.cmd));
    tc_get_random(f->io.cmd, 8);
    tpm_put_be32(f->io.cmd + 2, BUF + 1);
    assert_int_equal(tt_exec_code(&f->io, 0, BUF + 1), TPM_RC_COMMAND_SIZE);
    assert_int_equal(f->io.rsp_len, 10);

    tpm_put_be32(f->io.cmd + 2, 100);
    assert_int_equal(tt_exec_code(&f->io, 0, 12), TPM_RC_COMMAND_SIZE);

    assert_int_equal(tt_exec_code(&f->io, 0, 8), TPM_RC_COMMAND_SIZE);
}

/* A smaller device buffer lowers the limit further. */
static void device_buffer_limit(void **state)
{
    struct fx *f = *state;

    open_on(f, "/dev/null", 3968);
    memset(f->io.cmd, 0, sizeof(f->io.cmd));
    tc_get_random(f->io.cmd, 8);
    tpm_put_be32(f->io.cmd + 2, 3969);
    assert_int_equal(tt_exec_code(&f->io, 0, 3969), TPM_RC_COMMAND_SIZE);
}

static void no_answer_is_eio_then_reopen(void **state)
{
    struct fx *f = *state;

    getrandom_is_eio(f, "/dev/null", "/dev/null");
    /* Broken until the next power-on, which reopens the device. */
    assert_int_equal(exec(f, 0, tc_get_random(f->io.cmd, 8)), -EIO);
    capture_debug();
    tt_power_on(&f->io, BUF);
    assert_non_null(strstr(debug_log, "reopening /dev/null"));
}

static void garbage_answer_is_eio(void **state)
{
    getrandom_is_eio(*state, "/dev/zero", "malformed response");
}

static void refused_write_is_eio(void **state)
{
    getrandom_is_eio(*state, "/dev/full", "writing to /dev/full");
}

static void locality_ignored_and_noted_once(void **state)
{
    struct fx *f = *state;

    open_on(f, "/dev/null", BUF);
    capture_debug();
    assert_int_equal(exec(f, 3, 8), 0); /* answered locally */
    assert_int_equal(exec(f, 4, 8), 0);
    assert_non_null(strstr(debug_log, "locality 3"));
    assert_null(strstr(debug_log, "locality 4"));
}

static void no_state_no_flag(void **state)
{
    struct fx *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;

    assert_int_equal(open_pt(f, "/dev/null"), 0);
    assert_int_equal(f->io.be->ops->save_state(f->io.be, &blob, &len),
                     -ENOTSUP);
    assert_int_equal(f->io.be->ops->load_state(f->io.be, f->io.cmd, 10),
                     -ENOTSUP);
    assert_null(f->io.be->ops->get_established);
    assert_null(f->io.be->ops->reset_established);
    assert_int_equal(f->io.be->ops->power_off(f->io.be), 0);
    f->io.be->ops->cancel(f->io.be); /* no sysfs file: nothing happens */
}

static void cancel_paths(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(crb_passthrough_cancel_path("/dev/tpmrm0", buf,
                                                 sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/class/tpm/tpm0/device/cancel");
    assert_int_equal(crb_passthrough_cancel_path("/dev/tpm12", buf,
                                                 sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/class/tpm/tpm12/device/cancel");
    assert_int_equal(crb_passthrough_cancel_path("/dev/null", buf,
                                                 sizeof(buf)), -EINVAL);
    assert_int_equal(crb_passthrough_cancel_path("/dev/tpmrm", buf,
                                                 sizeof(buf)), -EINVAL);
    assert_int_equal(crb_passthrough_cancel_path("/dev/tpm0x", buf,
                                                 sizeof(buf)), -EINVAL);
}

/* ------------------------------------------------------ a real TPM device */

static void real_tpm(void **state)
{
    struct fx *f = *state;
    uint32_t len;

    assert_int_equal(open_pt(f, device), 0);
    tt_power_on_expect(&f->io, BUF, true);
    assert_int_equal(tt_exec_code(&f->io, 0, tc_get_random(f->io.cmd, 16)),
                     TPM_RC_SUCCESS);
    assert_int_equal(f->io.rsp_len, 10 + 2 + 16);
    assert_int_equal(tt_exec_code(&f->io, 0, tc_pcr_read(f->io.cmd, 1u << 0)),
                     TPM_RC_SUCCESS);
    /* Locality 3 is not passed on: the host's PCR 0 reads the same. */
    assert_int_equal(tt_exec_code(&f->io, 3, tc_pcr_read(f->io.cmd, 1u << 0)),
                     TPM_RC_SUCCESS);
    len = tc_get_random(f->io.cmd, 8);
    memset(f->io.cmd + len, 0, BUF + 1 - len);
    tpm_put_be32(f->io.cmd + 2, BUF + 1);
    assert_int_equal(tt_exec_code(&f->io, 0, BUF + 1), TPM_RC_COMMAND_SIZE);
    f->io.be->ops->cancel(f->io.be); /* idle: harmless */
    assert_int_equal(tt_exec_code(&f->io, 0, tc_get_random(f->io.cmd, 16)),
                     TPM_RC_SUCCESS);
}

static int run_device_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(real_tpm, setup, teardown),
    };
    struct stat st;

    device = getenv("TPMCRB_PASSTHROUGH_DEVICE");
    if (!device || !*device)
        device = "/dev/tpmrm0";
    if (stat(device, &st) < 0 || !S_ISCHR(st.st_mode)) {
        printf("SKIP: no TPM character device at %s (set "
               "TPMCRB_PASSTHROUGH_DEVICE to use another). This machine "
               "cannot make one either: %s, %s. Run this test inside a VM "
               "with a TPM.\n", device,
               access("/dev/vtpmx", F_OK) ? "no /dev/vtpmx (vtpm proxy)"
                                          : "/dev/vtpmx exists but is unused",
               access("/dev/cuse", F_OK) ? "no /dev/cuse (swtpm chardev)"
                                         : "/dev/cuse exists but is unused");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_device, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_character_device, setup, teardown),
        cmocka_unit_test_setup_teardown(size_checks_answer_locally, setup, teardown),
        cmocka_unit_test_setup_teardown(device_buffer_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(no_answer_is_eio_then_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_answer_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_write_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(locality_ignored_and_noted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(no_state_no_flag, setup, teardown),
        cmocka_unit_test(cancel_paths),
    };

    if (argc == 2 && !strcmp(argv[1], "device"))
        return run_device_test();
    if (argc == 2 && !strcmp(argv[1], "unit"))
        return cmocka_run_group_tests(tests, NULL, NULL);
    fprintf(stderr, "usage: test-passthrough unit|device\n");
    return 2;
}
