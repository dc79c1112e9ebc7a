/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots and state directories are host-independent: fixtures written
 * on a little-endian host (x86_64) and on a big-endian one (s390x, under
 * qemu-user) are both loaded here, on whatever host this runs, and must
 * give the same device and the same TPM.
 *
 * Each fixture is a libtpms device (split layout, five localities) after
 * TPM2_Startup and one PCR_Extend of PCR 16 with 32 bytes of 0xA5 from
 * locality 0, locality 2 active with INT_ENABLE set, saved while paused with a
 * PCR_Read of PCR 16 in flight. Loading it and resuming runs that read:
 * the response must carry the extend's digest, computed here.
 *
 * Each state directory is the libtpms backend's (state store files) after
 * TPM2_Startup and the same extend, powered off: opened again, the TPM
 * resumes and PCR 16 reads the same digest.
 *
 *   test-snapshot-fixtures DIR          load DIR/snapshot-*.bin and
 *                                       DIR/state-* (the test)
 *   test-snapshot-fixtures --write DIR  write DIR/snapshot-<this host>.bin
 *                                       and DIR/state-<this host>/
 *
 * A change of format writes both again: on x86_64 from the normal build,
 * for s390x after `scripts/cross-s390x.sh --build` with
 *   qemu-s390x -L ~/.cache/tpmcrb/s390x-sysroot \
 *       build-s390x/tests/snapshot/test-snapshot-fixtures --write DIR
 * (remove DIR/state-* first: the writer does not replace a directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "tpm_commands.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HOST "x86_64"
#elif defined(__s390x__)
#define HOST "s390x"
#else
#define HOST "other"
#endif

/* Both must be present: each is the other host's half of the check. */
static const char *const fixture_hosts[] = { "x86_64", "s390x" };

#define FIXTURE_LOC   2u
#define FIXTURE_PCR   16u
#define FIXTURE_FILL  0xA5u
#define FIXTURE_INTS  (INT_GLOBAL_ENABLE | INT_START)
/* PCR_Read response: header, update counter, the selection (10 bytes),
 * digest count, then a TPM2B with the digest. */
#define PCR_DIGEST_OFFSET (TPM_HEADER_SIZE + 4 + 10 + 4 + 2)

static const char *fixture_dir;
static struct tpmcrb_backend *libtpms;

static void fixture_config(struct tpmcrb_config *cfg)
{
    tt_config(cfg, TPMCRB_LAYOUT_SPLIT, 5, 1000000);
}

static void path_of(char *out, size_t n, const char *dir, const char *host)
{
    snprintf(out, n, "%s/snapshot-%s.bin", dir, host);
}

static void state_dir_of(char *out, size_t n, const char *dir,
                         const char *host)
{
    snprintf(out, n, "%s/state-%s", dir, host);
}

static void open_libtpms(const char *state_dir)
{
    struct tpmcrb_backend_options o;

    tpmcrb_backend_options_init(&o);
    o.state_dir = state_dir;
    assert_int_equal(tpmcrb_backend_open("libtpms", &o, &libtpms), 0);
}

/* ------------------------------------------------------------ writing */

static int write_fixture(const char *dir)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct crb_driver d = { 0 };
    uint8_t cmd[128], rsp[4096], *blob;
    uint32_t rsp_len, len;
    size_t blob_len;
    char path[4096];
    FILE *f;

    fixture_config(&cfg);
    tt_device_open("libtpms", NULL, &cfg, &libtpms, &dev);
    /* TPM2_Startup is refused from locality 2: the driver uses 0. */
    assert_int_equal(crb_driver_init(&d, dev, 0), 0);
    assert_int_equal(tt_transmit(&d, cmd, tc_startup(cmd, TPM_SU_CLEAR), rsp,
                                 sizeof(rsp), &rsp_len), TPM_RC_SUCCESS);
    assert_int_equal(tt_transmit(&d, cmd, tc_pcr_extend(cmd, FIXTURE_PCR,
                                                        FIXTURE_FILL),
                                 rsp, sizeof(rsp), &rsp_len), TPM_RC_SUCCESS);
    tt_request_locality(dev, FIXTURE_LOC);
    tt_reg_write(dev, FIXTURE_LOC, CRB_INT_ENABLE, FIXTURE_INTS);
    /* The read is held by the paused device: it travels in the snapshot. */
    assert_int_equal(tpmcrb_device_pause(dev, 5000), 0);
    len = tc_pcr_read(cmd, 1u << FIXTURE_PCR);
    memcpy(tt_cmd_buffer(dev, FIXTURE_LOC), cmd, len);
    tt_reg_write(dev, FIXTURE_LOC, CRB_CTRL_START, 1);
    assert_int_equal(tpmcrb_snapshot_save(dev, &blob, &blob_len), 0);

    path_of(path, sizeof(path), dir, HOST);
    f = fopen(path, "wb");
    if (!f || fwrite(blob, 1, blob_len, f) != blob_len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("wrote %s (%zu bytes)\n", path, blob_len);
    free(blob);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(libtpms);
    return 0;
}

static int write_state_dir(const char *dir)
{
    struct tt_backend t = { 0 };
    char path[4096];

    state_dir_of(path, sizeof(path), dir, HOST);
    if (mkdir(path, 0700) < 0) {
        fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    open_libtpms(path);
    t.be = libtpms;
    tt_power_on_expect(&t, TT_BUF, false);
    assert_int_equal(tt_run(&t, 0, tc_startup(t.cmd, TPM_SU_CLEAR)),
                     TPM_RC_SUCCESS);
    assert_int_equal(tt_run(&t, 0, tc_pcr_extend(t.cmd, FIXTURE_PCR,
                                                 FIXTURE_FILL)),
                     TPM_RC_SUCCESS);
    assert_int_equal(t.be->ops->power_off(t.be), 0);
    tt_backend_close(&t);
    printf("wrote %s/\n", path);
    /* The lock file is the directory's, not the TPM's state. */
    strncat(path, "/lock", sizeof(path) - strlen(path) - 1);
    unlink(path);
    return 0;
}

/* ------------------------------------------------------------ loading */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n = 0;

    if (!f)
        fail_msg("fixture %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) &&
        fread(p, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else
        fail_msg("fixture %s: cannot read it", path);
    fclose(f);
    return p;
}

static void expected_pcr(uint8_t digest[32])
{
    uint8_t buf[64] = { 0 };
    unsigned len = 32;

    memset(buf + 32, FIXTURE_FILL, 32);
    assert_int_equal(EVP_Digest(buf, sizeof(buf), digest, &len, EVP_sha256(),
                                NULL), 1);
}

static void load_fixture(const char *host)
{
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    uint8_t *blob, *rsp, pcr[32];
    size_t blob_len = 0;
    char path[4096];

    path_of(path, sizeof(path), fixture_dir, host);
    blob = read_file(path, &blob_len);
    fixture_config(&cfg);
    open_libtpms(NULL);
    assert_int_equal(tpmcrb_device_new(&cfg, libtpms, &dev), 0);
    assert_int_equal(tpmcrb_device_pause(dev, 5000), 0);
    assert_int_equal(tpmcrb_snapshot_load(dev, blob, blob_len), 0);
    free(blob);

    /* What the guest reads, byte order included (tt_reg_read reads the
     * page as little-endian). */
    assert_int_equal(tt_reg_read(dev, 0, CRB_LOC_STATE) &
                     ~LOC_STATE_ESTABLISHED,
                     LOC_STATE_REG_VALID | LOC_STATE_ASSIGNED |
                     FIXTURE_LOC << LOC_STATE_ACTIVE_SHIFT);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_LOC_STS),
                     LOC_STS_GRANTED);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_INT_ENABLE),
                     FIXTURE_INTS);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_CTRL_START), 1);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_CMD_LADDR),
                     (uint32_t)tpmcrb_buffer_addr(&cfg));
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_CMD_SIZE),
                     TPMCRB_SPLIT_BUFFER_SIZE);

    /* Resuming runs the PCR_Read in flight on the TPM the blob carried. */
    tpmcrb_device_resume(dev);
    assert_int_equal(tpmcrb_wait_idle(dev, 10000), 0);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_CTRL_START), 0);
    assert_int_equal(tt_reg_read(dev, FIXTURE_LOC, CRB_INT_STS) & INT_START,
                     INT_START);
    rsp = tt_cmd_buffer(dev, FIXTURE_LOC);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_SUCCESS);
    assert_int_equal(tpm_hdr_size(rsp), PCR_DIGEST_OFFSET + 32);
    expected_pcr(pcr);
    assert_memory_equal(rsp + PCR_DIGEST_OFFSET, pcr, 32);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(libtpms);
}

/* The fixture's files, copied into a private directory as the backend
 * wants them (0700, files 0600): git keeps neither mode. */
static void copy_state_dir(const char *from, char *to, size_t n)
{
    DIR *d = opendir(from);
    struct dirent *e;
    unsigned files = 0;

    if (!d)
        fail_msg("fixture %s: %s", from, strerror(errno));
    snprintf(to, n, "%s/tpmcrb-fixture-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(to));
    while ((e = readdir(d))) {
        char src[4096 + 257], dst[4096 + 257];
        uint8_t *data;
        size_t len = 0;
        int fd;

        if (e->d_name[0] == '.')
            continue;
        snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
        snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
        data = read_file(src, &len);
        fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
        free(data);
        files++;
    }
    closedir(d);
    assert_true(files > 0);
}

static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char p[4096 + 257];

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        assert_int_equal(unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(path), 0);
}

static void load_state_dir(const char *host)
{
    struct tt_backend t = { 0 };
    char fixture[4096], dir[4096];
    uint8_t pcr[32];

    state_dir_of(fixture, sizeof(fixture), fixture_dir, host);
    copy_state_dir(fixture, dir, sizeof(dir));
    open_libtpms(dir);
    t.be = libtpms;
    tt_power_on_expect(&t, TT_BUF, true);
    assert_int_equal(tt_run(&t, 0, tc_pcr_read(t.cmd, 1u << FIXTURE_PCR)),
                     TPM_RC_SUCCESS);
    assert_int_equal(t.rsp_len, PCR_DIGEST_OFFSET + 32);
    expected_pcr(pcr);
    assert_memory_equal(t.rsp + PCR_DIGEST_OFFSET, pcr, 32);
    tt_backend_close(&t);
    remove_dir(dir);
}

static void load_x86_64(void **state)
{
    (void)state;
    load_fixture(fixture_hosts[0]);
}

static void load_s390x(void **state)
{
    (void)state;
    load_fixture(fixture_hosts[1]);
}

static void state_dir_x86_64(void **state)
{
    (void)state;
    load_state_dir(fixture_hosts[0]);
}

static void state_dir_s390x(void **state)
{
    (void)state;
    load_state_dir(fixture_hosts[1]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_x86_64),
        cmocka_unit_test(load_s390x),
        cmocka_unit_test(state_dir_x86_64),
        cmocka_unit_test(state_dir_s390x),
    };

    if (argc == 3 && !strcmp(argv[1], "--write"))
        return write_fixture(argv[2]) || write_state_dir(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR | --write DIR\n", argv[0]);
        return 2;
    }
    fixture_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
