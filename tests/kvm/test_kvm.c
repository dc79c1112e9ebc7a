/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trap mode on KVM (docs/design.md, "One command, three transports"):
 * the freestanding guest of
 * examples/kvm-vmm drives the CRB protocol in Linux's order through each
 * mapping, and the host checks the responses, the exits they cost, and
 * that misbehaving guests get no more than the register rules allow.
 *
 * Needs /dev/kvm; exits 77 (skipped) without it. Where the host has none,
 * examples/kvm-vmm/nested-test.sh runs this program inside a QEMU TCG
 * guest that has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tpm_commands.h"
#include "util/tpm_cmd.h"
#include "vmm.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TEST_PCR        16u          /* debug PCR */
#define TPM_CC_Hash     0x17Du
#define TPM_RH_NULL     0x40000007u
/* Answered by the probe backend itself with the command echoed back: the
 * one way to get a response as large as the buffer, since TPM 2.0 limits
 * its parameters to about 1 KiB. */
#define ECHO_CC         0x20000000u  /* TPM_CC_Vendor_TCG_Test */
#define LINUX_WRITES    6u           /* LOC_CTRL x2, CTRL_REQ x2, CANCEL, START */

/* ------------------------------------------------------------ backend */

/* libtpms behind a probe that counts and records what reaches it. */
struct probe {
    struct tpmcrb_backend be;
    struct tpmcrb_backend *tpm;
    unsigned executes;
    uint32_t last_len;
    uint8_t last_cmd[TPMCRB_PAGE_SIZE];
};

static struct probe *probe_of(struct tpmcrb_backend *be)
{
    return (struct probe *)be;
}

static int probe_power_on(struct tpmcrb_backend *be, uint32_t size,
                          bool *resumed)
{
    struct tpmcrb_backend *tpm = probe_of(be)->tpm;

    return tpm->ops->power_on(tpm, size, resumed);
}

static int probe_execute(struct tpmcrb_backend *be, unsigned loc,
                         const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                         uint32_t cap, uint32_t *rsp_len)
{
    struct probe *p = probe_of(be);

    p->executes++;
    p->last_len = len;
    memcpy(p->last_cmd, cmd, len);
    if (tpm_hdr_code(cmd) == ECHO_CC && len <= cap) {
        memcpy(rsp, cmd, len);
        tpm_put_be16(rsp, TPM_ST_NO_SESSIONS);
        tpm_put_be32(rsp + 6, TPM_RC_SUCCESS);
        *rsp_len = len;
        return 0;
    }
    return p->tpm->ops->execute(p->tpm, loc, cmd, len, rsp, cap, rsp_len);
}

static int probe_power_off(struct tpmcrb_backend *be)
{
    struct tpmcrb_backend *tpm = probe_of(be)->tpm;

    return tpm->ops->power_off ? tpm->ops->power_off(tpm) : 0;
}

static const struct tpmcrb_backend_ops probe_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "probe",
    .power_on = probe_power_on,
    .execute = probe_execute,
    .power_off = probe_power_off,
};

static struct probe probe = { .be = { .ops = &probe_ops } };

/* ------------------------------------------------------------ commands */

struct cmd {
    uint8_t b[TPMCRB_PAGE_SIZE + 64];
    uint32_t len;
};

static struct cmd *simple(struct cmd *c, uint32_t code, const void *p,
                          uint32_t plen)
{
    c->len = tpm_build_command(c->b, sizeof(c->b), code, p, plen);
    assert_true(c->len > 0);
    return c;
}

static struct cmd *startup(struct cmd *c)
{
    c->len = tc_startup(c->b, TPM_SU_CLEAR);
    return c;
}

static struct cmd *getrandom(struct cmd *c, uint16_t n)
{
    c->len = tc_get_random(c->b, n);
    return c;
}

static struct cmd *pcr_extend(struct cmd *c, uint32_t pcr,
                              const uint8_t digest[32])
{
    c->len = tc_pcr_extend_digest(c->b, pcr, digest);
    return c;
}

static struct cmd *pcr_read(struct cmd *c, uint32_t pcr)
{
    c->len = tc_pcr_read(c->b, 1u << pcr);
    return c;
}

static struct cmd *hash(struct cmd *c, const uint8_t *data, uint16_t n)
{
    uint8_t p[2 + 1024 + 6];

    assert_true(n <= 1024);
    tpm_put_be16(p, n);
    memcpy(p + 2, data, n);
    tpm_put_be16(p + 2 + n, TPM_ALG_SHA256);
    tpm_put_be32(p + 4 + n, TPM_RH_NULL);
    return simple(c, TPM_CC_Hash, p, 2u + n + 6u);
}

/* An echo command of @len bytes in all, its header saying @hdr_size. */
static struct cmd *echo(struct cmd *c, uint32_t len, uint32_t hdr_size)
{
    assert_true(len <= sizeof(c->b));
    for (uint32_t i = TPM_HEADER_SIZE; i < len; i++)
        c->b[i] = (uint8_t)(i * 7 + 3);
    tpm_put_be16(c->b, TPM_ST_NO_SESSIONS);
    tpm_put_be32(c->b + 2, hdr_size);
    tpm_put_be32(c->b + 6, ECHO_CC);
    c->len = len;
    return c;
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned n = 0;

    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

/* ------------------------------------------------------------ VMs */

struct fx {
    struct vmm *vm;
    struct vmm_job_report rep[64];
    struct tpmcrb_config cfg;
};

static struct fx fx;

/* A VM on @dev with a fresh TPM (a new libtpms backend: the previous one
 * kept its state in memory across power cycles), already started. */
static void boot_config(enum vmm_mapping mapping, const struct tpmcrb_config *dev)
{
    struct vmm_options o = { .mapping = mapping, .dev = *dev,
                             .be = &probe.be, .timeout_ms = 120000 };
    struct cmd c, *s = startup(&c);

    assert_int_equal(tpmcrb_backend_open("libtpms", NULL, &probe.tpm), 0);
    fx.cfg = o.dev;
    assert_int_equal(vmm_create(&o, &fx.vm), 0);
    vmm_add_transmit(fx.vm, 0, s->b, s->len, 1, 0);
    assert_int_equal(vmm_run(fx.vm, fx.rep), 0);
    assert_int_equal(vmm_job(fx.vm, 0)->status, ABI_OK);
    assert_int_equal(tpm_hdr_code(vmm_response(fx.vm, 0)), TPM_RC_SUCCESS);
    vmm_jobs_clear(fx.vm);
    probe.executes = 0;
}

static void boot(enum vmm_mapping mapping, enum tpmcrb_layout layout)
{
    struct tpmcrb_config dev;

    tpmcrb_config_init(&dev);
    dev.layout = layout;
    boot_config(mapping, &dev);
}

static int teardown(void **state)
{
    (void)state;
    vmm_destroy(fx.vm);
    fx.vm = NULL;
    tpmcrb_backend_close(probe.tpm);
    probe.tpm = NULL;
    return 0;
}

static int add(const struct cmd *c)
{
    int i = vmm_add_transmit(fx.vm, 0, c->b, c->len, 1, 0);

    assert_true(i >= 0);
    return i;
}

static void run(void)
{
    assert_int_equal(vmm_run(fx.vm, fx.rep), 0);
}

/* A transmit that completed in the guest with TPM rc @rc. */
static const uint8_t *response(int i, uint32_t rc)
{
    const struct abi_job *j = vmm_job(fx.vm, (unsigned)i);

    assert_int_equal(j->status, ABI_OK);
    assert_int_equal(tpm_hdr_code(vmm_response(fx.vm, (unsigned)i)), rc);
    assert_int_equal(tpm_hdr_size(vmm_response(fx.vm, (unsigned)i)), j->rsp_len);
    return vmm_response(fx.vm, (unsigned)i);
}

static uint8_t *regs(void)
{
    return tpmcrb_regs_mem(vmm_device(fx.vm));
}

/* ------------------------------------------------------------ tests */

/* The series' promise on the split layout: a Linux-order command costs its
 * six register writes and nothing else. */
static void assert_rom_split_exits(int i)
{
    const struct vmm_exits *e = &fx.rep[i].exits;

    assert_int_equal(e->reg_read, 0);
    assert_int_equal(e->reg_write, LINUX_WRITES);
    assert_int_equal(e->data_read + e->data_write, 0);
}

static void test_getrandom_and_pcr(void **state)
{
    uint8_t digest[32], old_new[64] = { 0 }, want[32], data[1024], hdigest[32];
    struct cmd c;
    int rnd, ext, rd, hs;
    const uint8_t *r;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_SPLIT);
    sha256("tpmcrb kvm test", 15, digest);
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ 0x5A);
    rnd = add(getrandom(&c, 32));
    ext = add(pcr_extend(&c, TEST_PCR, digest));
    rd = add(pcr_read(&c, TEST_PCR));
    hs = add(hash(&c, data, sizeof(data)));
    run();

    r = response(rnd, TPM_RC_SUCCESS);
    assert_int_equal(vmm_job(fx.vm, rnd)->rsp_len, 10 + 2 + 32);
    assert_int_equal(tpm_be16(r + 10), 32);
    response(ext, TPM_RC_SUCCESS);
    /* PCR 16 starts at zero: new = SHA-256(0^32 || digest). */
    memcpy(old_new + 32, digest, 32);
    sha256(old_new, sizeof(old_new), want);
    r = response(rd, TPM_RC_SUCCESS);
    assert_memory_equal(r + vmm_job(fx.vm, rd)->rsp_len - 32, want, 32);
    /* The largest input TPM2_Hash takes, hashed by the TPM and here. */
    sha256(data, sizeof(data), hdigest);
    r = response(hs, TPM_RC_SUCCESS);
    assert_int_equal(tpm_be16(r + 10), 32);
    assert_memory_equal(r + 12, hdigest, 32);

    for (int i = rnd; i <= hs; i++)
        assert_rom_split_exits(i);
    assert_int_equal(probe.executes, 4);
}

/* A command and a response as large as the split buffer: 4096 bytes each
 * way, intact, still without a data exit. */
static void test_split_full_buffer(void **state)
{
    struct cmd c;
    int i;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_SPLIT);
    i = add(echo(&c, TPMCRB_SPLIT_BUFFER_SIZE, TPMCRB_SPLIT_BUFFER_SIZE));
    run();
    response(i, TPM_RC_SUCCESS);
    assert_int_equal(probe.last_len, c.len);
    assert_memory_equal(probe.last_cmd, c.b, c.len);
    assert_int_equal(vmm_job(fx.vm, i)->rsp_len, c.len);
    assert_memory_equal(vmm_response(fx.vm, i) + TPM_HEADER_SIZE,
                        c.b + TPM_HEADER_SIZE, c.len - TPM_HEADER_SIZE);
    assert_rom_split_exits(i);
}

/* The series' in-page buffer holds 3968 bytes: a full one works (every
 * dword of it a data exit), a 4 KiB command does not. Linux refuses it
 * before START (-E2BIG, as the guest does); a command whose header claims
 * 4096 anyway gets TPM_RC_COMMAND_SIZE from the device, not the TPM. */
static void test_compat_buffer_limit(void **state)
{
    struct cmd full, big, liar;
    int ok, e2big, bad;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_COMPAT);
    ok = add(echo(&full, TPMCRB_COMPAT_BUFFER_SIZE, TPMCRB_COMPAT_BUFFER_SIZE));
    e2big = add(echo(&big, TPMCRB_SPLIT_BUFFER_SIZE, TPMCRB_SPLIT_BUFFER_SIZE));
    bad = add(echo(&liar, TPMCRB_COMPAT_BUFFER_SIZE, TPMCRB_SPLIT_BUFFER_SIZE));
    run();

    response(ok, TPM_RC_SUCCESS);
    assert_memory_equal(vmm_response(fx.vm, ok) + TPM_HEADER_SIZE,
                        full.b + TPM_HEADER_SIZE, full.len - TPM_HEADER_SIZE);
    assert_int_equal(fx.rep[ok].exits.data_write, full.len / 4);
    assert_int_equal(fx.rep[ok].exits.reg_read, 0);
    assert_int_equal(vmm_job(fx.vm, e2big)->status, ABI_ERR_CMD_SIZE);
    response(bad, TPM_RC_COMMAND_SIZE);
    assert_int_equal(probe.executes, 1);
}

/* QEMU upstream's mapping: every access exits, yet the protocol and the
 * responses are the same. */
static void test_full_trap(void **state)
{
    enum tpmcrb_layout layouts[] = { TPMCRB_LAYOUT_COMPAT, TPMCRB_LAYOUT_SPLIT };
    uint8_t digest[32] = { 1 };
    struct cmd c;

    (void)state;
    for (unsigned l = 0; l < 2; l++) {
        int rnd, ext;

        boot(VMM_MAP_TRAP, layouts[l]);
        rnd = add(getrandom(&c, 32));
        ext = add(pcr_extend(&c, TEST_PCR, digest));
        run();
        response(rnd, TPM_RC_SUCCESS);
        response(ext, TPM_RC_SUCCESS);
        /* Polls of LOC_STATE, CTRL_REQ (x2), START, CTRL_STS, LOC_STATE at
         * least; the 44-byte response read dword by dword; the 12-byte
         * command written likewise. */
        assert_true(fx.rep[rnd].exits.reg_read >= 6);
        assert_int_equal(fx.rep[rnd].exits.reg_write, LINUX_WRITES);
        assert_int_equal(fx.rep[rnd].exits.data_read, 44 / 4);
        assert_int_equal(fx.rep[rnd].exits.data_write, 12 / 4);
        teardown(NULL);
    }
}

/* Writes to LOC_STATE, LOC_STS, INTF_ID_HI and CTRL_STS of every locality
 * exit and change nothing (they are read-only); the TPM still works. */
static void test_readonly_registers(void **state)
{
    static const uint32_t ro[] = { 0x00, 0x0C, 0x34, 0x44 };
    uint8_t before[TPMCRB_MAX_LOCALITIES][0x80], *p;
    struct cmd c;
    int first = -1, last = 0, rnd;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_SPLIT);
    for (unsigned loc = 0; loc < TPMCRB_MAX_LOCALITIES; loc++)
        memcpy(before[loc], regs() + loc * TPMCRB_PAGE_SIZE, 0x80);
    for (unsigned loc = 0; loc < TPMCRB_MAX_LOCALITIES; loc++)
        for (unsigned i = 0; i < 4; i++) {
            last = vmm_add_write(fx.vm, loc * TPMCRB_PAGE_SIZE + ro[i], 4,
                                 0xFFFFFFFFu);
            if (first < 0)
                first = last;
        }
    for (unsigned loc = 0; loc < TPMCRB_MAX_LOCALITIES; loc++)
        vmm_add_read(fx.vm, loc * TPMCRB_PAGE_SIZE + 0x44, 4);
    rnd = add(getrandom(&c, 8));
    run();

    for (int i = first; i <= last; i++)
        assert_int_equal(fx.rep[i].exits.reg_write, 1);
    for (unsigned loc = 0; loc < TPMCRB_MAX_LOCALITIES; loc++) {
        p = regs() + loc * TPMCRB_PAGE_SIZE;
        assert_memory_equal(p, before[loc], 0x80);
        /* The guest reads what it read before: idle, not fatal. */
        assert_int_equal(vmm_job(fx.vm, (unsigned)last + 1 + loc)->result, 0x2);
    }
    response(rnd, TPM_RC_SUCCESS);
    assert_int_equal(probe.executes, 1);
}

/* Locality 0 holds the TPM with a command in the buffer; START written in
 * locality 1's page is ignored (only the active locality starts), and
 * the same START from locality 0 then runs the command. */
static void test_start_from_inactive_locality(void **state)
{
    const uint32_t loc1 = TPMCRB_PAGE_SIZE;
    struct tpmcrb_stats st0 = TPMCRB_STATS_INIT, st1 = TPMCRB_STATS_INIT;
    struct cmd c;
    uint32_t buf;
    int r1;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_SPLIT);
    buf = (uint32_t)tpmcrb_regs_size(&fx.cfg);   /* the split buffer page */
    tpmcrb_get_stats(vmm_device(fx.vm), &st0);
    getrandom(&c, 16);
    vmm_add_write(fx.vm, 0x08, 4, 1);                 /* loc 0: request */
    vmm_add_write(fx.vm, 0x40, 4, 1);                 /* cmdReady */
    vmm_add_copy(fx.vm, buf, c.b, c.len);
    vmm_add_write(fx.vm, loc1 + 0x4C, 4, 1);          /* START, loc 1 */
    r1 = vmm_add_read(fx.vm, loc1 + 0x4C, 4);
    vmm_add_read(fx.vm, 0x4C, 4);
    run();
    assert_int_equal(vmm_job(fx.vm, (unsigned)r1)->result, 0);
    assert_int_equal(vmm_job(fx.vm, (unsigned)r1 + 1)->result, 0);
    assert_int_equal(probe.executes, 0);
    tpmcrb_get_stats(vmm_device(fx.vm), &st1);
    assert_int_equal(st1.commands, st0.commands);
    /* The buffer still holds the command, not a response. */
    assert_memory_equal(tpmcrb_buffer_mem(vmm_device(fx.vm)), c.b, c.len);

    vmm_jobs_clear(fx.vm);
    vmm_add_write(fx.vm, 0x4C, 4, 1);                 /* START, loc 0 */
    run();
    assert_int_equal(tpmcrb_wait_idle(vmm_device(fx.vm), 10000), 0);
    assert_int_equal(probe.executes, 1);
    assert_int_equal(tpm_hdr_code(tpmcrb_buffer_mem(vmm_device(fx.vm))),
                     TPM_RC_SUCCESS);
}

/* A header size below 10 or beyond the buffer: TPM_RC_COMMAND_SIZE from
 * the device, the backend never called, in both layouts. */
static void test_bad_size(void **state)
{
    enum tpmcrb_layout layouts[] = { TPMCRB_LAYOUT_SPLIT, TPMCRB_LAYOUT_COMPAT };
    struct cmd tiny, huge;

    (void)state;
    for (unsigned l = 0; l < 2; l++) {
        int a, b, ok;
        struct cmd c;

        boot(VMM_MAP_ROM, layouts[l]);
        a = add(echo(&tiny, 16, 5));
        b = add(echo(&huge, 16, 0x2000));
        ok = add(getrandom(&c, 8));
        run();
        response(a, TPM_RC_COMMAND_SIZE);
        response(b, TPM_RC_COMMAND_SIZE);
        response(ok, TPM_RC_SUCCESS);
        assert_int_equal(probe.executes, 1);
        teardown(NULL);
    }
}

/* Anywhere below 4 GiB: a low base, locality 0 only (one register page,
 * the buffer page right after it). */
static void test_low_base_one_locality(void **state)
{
    struct tpmcrb_config dev;
    struct cmd c;
    int rd, rnd;

    (void)state;
    tpmcrb_config_init(&dev);
    dev.base = 0x800000;
    dev.localities = 1;
    boot_config(VMM_MAP_ROM, &dev);
    rd = vmm_add_read(fx.vm, 0x5C, 4);               /* CMD_LADDR */
    rnd = add(getrandom(&c, 16));
    run();
    assert_int_equal(vmm_job(fx.vm, (unsigned)rd)->result, 0x801000);
    response(rnd, TPM_RC_SUCCESS);
    assert_rom_split_exits(rnd);
}

/* With completion left asynchronous (bound 0) the guest's first status
 * read may find START still set; the Linux-timed guest then sleeps 1 ms
 * (one request to the host per retry) and still gets every response. */
static void test_linux_timing_async(void **state)
{
    struct tpmcrb_config dev;
    struct cmd c;
    const struct abi_job *j;
    int i;

    (void)state;
    tpmcrb_config_init(&dev);
    dev.sync_bound_us = 0;
    boot_config(VMM_MAP_ROM, &dev);
    getrandom(&c, 32);
    i = vmm_add_transmit(fx.vm, 0, c.b, c.len, 20, ABI_F_LINUX_TIMING);
    run();
    j = vmm_job(fx.vm, (unsigned)i);
    response(i, TPM_RC_SUCCESS);
    assert_int_equal(probe.executes, 20);
    assert_true(j->ready_first <= 20);
    assert_true(fx.rep[i].exits.sleeps >= 20 - j->ready_first);
    assert_int_equal(fx.rep[i].exits.reg_write, 20 * LINUX_WRITES);
}

/* The dirty callback sees the device's register changes. */
static void test_dirty_callback(void **state)
{
    struct cmd c;
    uint64_t before;

    (void)state;
    boot(VMM_MAP_ROM, TPMCRB_LAYOUT_SPLIT);
    before = vmm_dirty_calls(fx.vm);
    add(getrandom(&c, 8));
    run();
    assert_true(vmm_dirty_calls(fx.vm) > before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_getrandom_and_pcr, teardown),
        cmocka_unit_test_teardown(test_split_full_buffer, teardown),
        cmocka_unit_test_teardown(test_compat_buffer_limit, teardown),
        cmocka_unit_test_teardown(test_full_trap, teardown),
        cmocka_unit_test_teardown(test_readonly_registers, teardown),
        cmocka_unit_test_teardown(test_start_from_inactive_locality, teardown),
        cmocka_unit_test_teardown(test_bad_size, teardown),
        cmocka_unit_test_teardown(test_low_base_one_locality, teardown),
        cmocka_unit_test_teardown(test_linux_timing_async, teardown),
        cmocka_unit_test_teardown(test_dirty_callback, teardown),
    };

    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("SKIP: /dev/kvm: %s. These tests need KVM; where the host has "
               "none, examples/kvm-vmm/nested-test.sh runs them in a QEMU "
               "TCG guest.\n", strerror(errno));
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
