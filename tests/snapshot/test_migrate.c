/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live migration in one process: a guest thread runs a command loop the
 * way Linux's tpm_crb does, one register access at a time under a "vCPU"
 * lock; a migrator thread moves the device to a new instance every few
 * hundred microseconds, at whatever point of the protocol the guest is —
 * also between pause and the vCPU stop, so that STARTs get held and
 * travel as the command in flight. Every command must get exactly one
 * correct response:
 *  - counter backend: it numbers its executions, so command i must come
 *    back with its own tag and the count i;
 *  - libtpms: PCR_Extend of PCR 16 with digest k, then PCR_Read, which
 *    must show the chain of extends 1..k computed here (a lost or
 *    repeated extend breaks it). libtpms is one TPM per process, so the
 *    source device is freed before the destination is created on the
 *    same backend (which then takes the snapshot's state).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/byteorder.h"
#include "core/snapshot.h"
#include "util/tpm_cmd.h"
#include "counter_backend.h"
#include "tpm_commands.h"
#include "tpmcrb.h"

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE        TPMCRB_PAGE_SIZE
#define WAIT_NS     5000000000ull
#define RSP_MAX     128u

struct instance {
    struct counter_backend cb;
    struct tpmcrb_device *dev;
};

struct vm;

/* What runs behind the device, and how the guest checks its answers. */
struct kind {
    const char *name;
    unsigned commands;         /* at least this many */
    unsigned min_migrations;   /* at least this many */
    bool one_backend;          /* the source goes before the destination */
    /* Every command through the worker (no fast path), so that migrations
     * catch commands in flight on a backend that would answer them inside
     * the START write. */
    bool worker_only;
    struct tpmcrb_backend *(*backend)(struct instance *in);
    uint32_t (*command)(struct vm *vm, uint32_t i, uint8_t *cmd);
    bool (*check)(struct vm *vm, uint32_t i, const uint8_t *rsp);
    bool (*done)(struct vm *vm);
};

struct vm {
    pthread_mutex_t vcpu;     /* held for one guest access */
    const struct kind *kind;
    struct instance *cur;
    uint8_t pcr[32];          /* libtpms: the value PCR 16 must have */
    struct tpmcrb_config cfg;
    unsigned loc;
    unsigned delay_us;
    _Atomic bool done;
    char failure[256];
    uint32_t sent;            /* commands the guest completed */
    /* migrator statistics; the guest reads the first two */
    _Atomic unsigned migrations, captured;
    unsigned drained, aborted;
    uint64_t start_ns;        /* when the guest began */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = { 0, (long)us * 1000 };

    nanosleep(&ts, NULL);
}

static struct instance *instance_new(struct vm *vm)
{
    struct instance *in = calloc(1, sizeof(*in));
    struct tpmcrb_config cfg = vm->cfg;

    counter_backend_init(&in->cb, true);
    atomic_store(&in->cb.delay_us, vm->delay_us);
    if (tpmcrb_device_new(&cfg, vm->kind->backend(in), &in->dev) < 0) {
        free(in);
        return NULL;
    }
    return in;
}

static void instance_free(struct instance *in)
{
    tpmcrb_device_free(in->dev);
    free(in);
}

/* ------------------------------------------------------------ the guest */

static uint8_t *reg_ptr(struct vm *vm, uint32_t reg)
{
    return (uint8_t *)tpmcrb_regs_mem(vm->cur->dev) + vm->loc * PAGE + reg;
}

static uint32_t g_rd(struct vm *vm, uint32_t reg)
{
    uint32_t v;

    pthread_mutex_lock(&vm->vcpu);
    v = le32_load_acquire((const uint32_t *)reg_ptr(vm, reg));
    pthread_mutex_unlock(&vm->vcpu);
    return v;
}

static void g_wr(struct vm *vm, uint32_t reg, uint32_t v)
{
    pthread_mutex_lock(&vm->vcpu);
    tpmcrb_write(vm->cur->dev, (uint64_t)vm->loc * PAGE + reg, 4, v);
    pthread_mutex_unlock(&vm->vcpu);
}

/* The advertised buffer: its own RAM page, or trapped in the page. */
static uint8_t *buf_ptr(struct vm *vm, uint32_t off)
{
    if (vm->cfg.layout == TPMCRB_LAYOUT_SPLIT)
        return (uint8_t *)tpmcrb_buffer_mem(vm->cur->dev) + off;
    return reg_ptr(vm, TPMCRB_COMPAT_BUFFER_OFFSET + off);
}

static void g_copy_in(struct vm *vm, const uint8_t *src, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += 4) {
        uint8_t b[4] = { 0 };
        uint32_t n = len - i < 4 ? len - i : 4;

        memcpy(b, src + i, n);
        pthread_mutex_lock(&vm->vcpu);
        if (vm->cfg.layout == TPMCRB_LAYOUT_SPLIT)
            memcpy(buf_ptr(vm, i), b, n);
        else /* a guest's dword store: its bytes in little-endian order */
            tpmcrb_write(vm->cur->dev, (uint64_t)vm->loc * PAGE +
                         TPMCRB_COMPAT_BUFFER_OFFSET + i, 4, get_le32(b));
        pthread_mutex_unlock(&vm->vcpu);
    }
}

static void g_copy_out(struct vm *vm, uint8_t *dst, uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t n = len - i < 4 ? len - i : 4;

        pthread_mutex_lock(&vm->vcpu);
        memcpy(dst + i, buf_ptr(vm, off + i), n);
        pthread_mutex_unlock(&vm->vcpu);
    }
}

static bool g_wait(struct vm *vm, uint32_t reg, uint32_t mask, uint32_t want)
{
    uint64_t deadline = now_ns() + WAIT_NS;

    while ((g_rd(vm, reg) & mask) != want) {
        if (now_ns() > deadline) {
            snprintf(vm->failure, sizeof(vm->failure),
                     "timeout waiting for register %#x & %#x == %#x", reg,
                     mask, want);
            return false;
        }
        sleep_us(20);
    }
    return true;
}

/* One command the way Linux's tpm_crb sends it (docs/design.md, "The register
 * interface"). */
static bool g_command(struct vm *vm, const uint8_t *cmd, uint32_t len,
                      uint8_t *rsp)
{
    const uint32_t valid = LOC_STATE_ASSIGNED | LOC_STATE_REG_VALID;

    g_wr(vm, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    if (!g_wait(vm, CRB_LOC_STATE, valid, valid))
        return false;
    g_wr(vm, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    if (!g_wait(vm, CRB_CTRL_REQ, CTRL_REQ_CMD_READY, 0))
        return false;
    g_wr(vm, CRB_CTRL_CANCEL, 0);
    g_copy_in(vm, cmd, len);
    g_wr(vm, CRB_CTRL_START, 1);
    if (!g_wait(vm, CRB_CTRL_START, 1, 0))
        return false;
    if (g_rd(vm, CRB_CTRL_STS) & CTRL_STS_FATAL) {
        snprintf(vm->failure, sizeof(vm->failure), "fatal status");
        return false;
    }
    g_copy_out(vm, rsp, 0, TPM_HEADER_SIZE);
    len = tpm_hdr_size(rsp);
    if (len < TPM_HEADER_SIZE || len > RSP_MAX) {
        snprintf(vm->failure, sizeof(vm->failure), "response of %u bytes", len);
        return false;
    }
    g_copy_out(vm, rsp + TPM_HEADER_SIZE, TPM_HEADER_SIZE, len - TPM_HEADER_SIZE);
    g_wr(vm, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    if (!g_wait(vm, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE, 0))
        return false;
    g_wr(vm, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    return g_wait(vm, CRB_LOC_STATE, valid, LOC_STATE_REG_VALID);
}

/* The guest runs its commands, and goes on (for up to GUEST_MAX_NS) until
 * the migrator has moved it often enough and caught a command in flight:
 * what the test proves must not depend on how fast this machine is, nor on
 * how often the migrator wins the vCPU lock against a guest that takes it
 * again at once (the mutex is not fair; with the POSIX wait build the
 * migrator lost it for thousands of commands in a row). */
#define GUEST_MAX_NS (120ull * 1000000000ull)

static bool guest_goes_on(struct vm *vm, uint32_t i)
{
    if (vm->failure[0] || now_ns() - vm->start_ns > GUEST_MAX_NS)
        return false;
    return i <= vm->kind->commands ||
           atomic_load(&vm->migrations) < vm->kind->min_migrations ||
           atomic_load(&vm->captured) == 0;
}

static void *guest(void *arg)
{
    struct vm *vm = arg;
    uint8_t cmd[256], rsp[RSP_MAX];

    for (uint32_t i = 1; guest_goes_on(vm, i); i++) {
        uint32_t len = vm->kind->command(vm, i, cmd);

        if (!g_command(vm, cmd, len, rsp) || !vm->kind->check(vm, i, rsp))
            break;
        vm->sent = i;
    }
    atomic_store(&vm->done, true);
    return NULL;
}

/* ------------------------------------------------------------ backends */

static struct tpmcrb_backend *counter_of(struct instance *in)
{
    return &in->cb.be;
}

static uint32_t counter_cmd(struct vm *vm, uint32_t i, uint8_t *cmd)
{
    (void)vm;
    return counter_command(cmd, i);
}

static bool counter_check(struct vm *vm, uint32_t i, const uint8_t *rsp)
{
    uint32_t tag = 0, count = 0;

    if (counter_response(rsp, tpm_hdr_size(rsp), &tag, &count) &&
        tag == i && count == i)
        return true;
    snprintf(vm->failure, sizeof(vm->failure),
             "command %u: response tag %u count %u", i, tag, count);
    return false;
}

static bool counter_done(struct vm *vm)
{
    return atomic_load(&vm->cur->cb.count) == vm->sent;
}

static const struct kind counter_kind = {
    .name = "counter", .commands = 3000, .min_migrations = 20,
    .backend = counter_of,
    .command = counter_cmd, .check = counter_check, .done = counter_done,
};

#ifdef HAVE_LIBCRYPTO
static struct tpmcrb_backend *libtpms;

static struct tpmcrb_backend *libtpms_of(struct instance *in)
{
    (void)in;
    return libtpms;
}

/* Odd commands extend PCR 16 with digest k (32 bytes of k), even ones
 * read it back. */
static uint32_t pcr_cmd(struct vm *vm, uint32_t i, uint8_t *cmd)
{
    (void)vm;
    if (i % 2)
        return tc_pcr_extend(cmd, 16, (uint8_t)((i + 1) / 2));
    return tc_pcr_read(cmd, 1u << 16);
}

static void extend_expected(struct vm *vm, uint8_t k)
{
    uint8_t buf[64];
    unsigned len = 32;

    memcpy(buf, vm->pcr, 32);
    memset(buf + 32, k, 32);
    EVP_Digest(buf, sizeof(buf), vm->pcr, &len, EVP_sha256(), NULL);
}

/* PCR_Read response: header, update counter, the selection (10 bytes),
 * digest count, then a TPM2B with the digest. */
#define PCR_DIGEST_OFFSET (TPM_HEADER_SIZE + 4 + 10 + 4 + 2)

static bool pcr_check(struct vm *vm, uint32_t i, const uint8_t *rsp)
{
    if (tpm_hdr_code(rsp) != TPM_RC_SUCCESS) {
        snprintf(vm->failure, sizeof(vm->failure), "command %u: rc %#x", i,
                 tpm_hdr_code(rsp));
        return false;
    }
    if (i % 2) {
        extend_expected(vm, (uint8_t)((i + 1) / 2));
        return true;
    }
    if (tpm_hdr_size(rsp) == PCR_DIGEST_OFFSET + 32 &&
        !memcmp(rsp + PCR_DIGEST_OFFSET, vm->pcr, 32))
        return true;
    snprintf(vm->failure, sizeof(vm->failure),
             "read %u: PCR 16 is not the chain of %u extends", i, i / 2);
    return false;
}

static bool pcr_done(struct vm *vm)
{
    (void)vm;
    return true; /* every read checked the chain */
}

static const struct kind libtpms_kind = {
    .name = "libtpms", .commands = 600, .min_migrations = 10,
    .one_backend = true, .worker_only = true,
    .backend = libtpms_of, .command = pcr_cmd, .check = pcr_check,
    .done = pcr_done,
};
#endif

/* ------------------------------------------------------------ the migrator */

static bool in_flight(const uint8_t *blob, size_t len)
{
    struct snap_view v;

    return snap_parse(blob, len, &v) == 0 && v.busy;
}

/* Stop the source: device first (a START then gets held) or vCPU first. */
static void stop_source(struct vm *vm, bool pause_first)
{
    if (pause_first) {
        assert_int_equal(tpmcrb_device_pause(vm->cur->dev, 5000), 0);
        pthread_mutex_lock(&vm->vcpu);
    } else {
        pthread_mutex_lock(&vm->vcpu);
        if (tpmcrb_busy(vm->cur->dev))
            vm->drained++;
        assert_int_equal(tpmcrb_device_pause(vm->cur->dev, 5000), 0);
    }
}

/* A transfer that fails on the way: the destination refuses the damaged
 * blob and the source carries on. */
static void abort_once(struct vm *vm, uint8_t *blob, size_t len)
{
    struct instance *dst = instance_new(vm);

    assert_non_null(dst);
    blob[len / 2] ^= 1;
    assert_true(tpmcrb_snapshot_load(dst->dev, blob, len) < 0);
    tpmcrb_device_resume(vm->cur->dev);
    pthread_mutex_unlock(&vm->vcpu);
    instance_free(dst);
    vm->aborted++;
}

static void migrate_once(struct vm *vm, unsigned round)
{
    struct instance *src = vm->cur, *dst;
    uint8_t *blob;
    size_t len;

    stop_source(vm, round & 1);
    assert_int_equal(tpmcrb_snapshot_save(src->dev, &blob, &len), 0);
    vm->captured += in_flight(blob, len);
    if (!vm->kind->one_backend && round % 10 == 9) {
        abort_once(vm, blob, len);
        free(blob);
        return;
    }
    if (vm->kind->one_backend)
        instance_free(src);
    dst = instance_new(vm);
    assert_non_null(dst);
    assert_int_equal(tpmcrb_snapshot_load(dst->dev, blob, len), 0);
    tpmcrb_device_resume(dst->dev);
    vm->cur = dst;
    pthread_mutex_unlock(&vm->vcpu);
    if (!vm->kind->one_backend)
        instance_free(src);
    vm->migrations++;
    free(blob);
}

static void run_vm(const struct kind *kind, enum tpmcrb_layout layout,
                   unsigned nloc, unsigned loc, unsigned delay_us,
                   uint32_t bound_us, unsigned gap_us)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    pthread_t thread;
    unsigned round = 0;

    pthread_mutex_init(&vm->vcpu, NULL);
    vm->kind = kind;
    tpmcrb_config_init(&vm->cfg);
    vm->cfg.layout = layout;
    vm->cfg.localities = nloc;
    vm->cfg.sync_bound_us = bound_us;
    vm->cfg.fast_path = !kind->worker_only;
    vm->loc = loc;
    vm->delay_us = delay_us;
    vm->cur = instance_new(vm);
    assert_non_null(vm->cur);
    srand(1234);
    vm->start_ns = now_ns();
    assert_int_equal(pthread_create(&thread, NULL, guest, vm), 0);
    while (!atomic_load(&vm->done)) {
        sleep_us((unsigned)rand() % gap_us);
        migrate_once(vm, round++);
    }
    pthread_join(thread, NULL);
    printf("BENCH migrate.%s.%s%u.commands=%u migrations=%u aborted=%u "
           "captured_in_flight=%u drained=%u\n", kind->name,
           layout == TPMCRB_LAYOUT_SPLIT ? "split" : "compat", nloc,
           vm->sent, atomic_load(&vm->migrations), vm->aborted,
           atomic_load(&vm->captured), vm->drained);
    if (vm->failure[0])
        fail_msg("%s", vm->failure);
    assert_true(vm->sent >= kind->commands);
    assert_true(kind->done(vm));
    assert_true(atomic_load(&vm->migrations) >= kind->min_migrations);
    assert_true(atomic_load(&vm->captured) > 0);
    instance_free(vm->cur);
    pthread_mutex_destroy(&vm->vcpu);
    free(vm);
}

/* Commands complete within the START write: migration sees them done. */
static void migrate_split_sync(void **s)
{
    (void)s;
    run_vm(&counter_kind, TPMCRB_LAYOUT_SPLIT, 5, 0, 0, 500, 400);
}

/* Commands outlast the bound: migration finds them running and drains. */
static void migrate_split_async(void **s)
{
    (void)s;
    run_vm(&counter_kind, TPMCRB_LAYOUT_SPLIT, 5, 2, 150, 20, 400);
}

/* The series' layout: every buffer access traps. */
static void migrate_compat(void **s)
{
    (void)s;
    run_vm(&counter_kind, TPMCRB_LAYOUT_COMPAT, 1, 0, 50, 20, 400);
}

/* The real TPM: its state travels in the snapshot's backend section. */
static void migrate_libtpms(void **s)
{
#ifdef HAVE_LIBCRYPTO
    const struct tpmcrb_backend_options opts = { .size = sizeof(opts) };
    struct tpmcrb_device *dev;
    uint8_t cmd[64], *rsp;
    uint32_t len;
    int err;

    (void)s;
    if ((err = tpmcrb_backend_open("libtpms", &opts, &libtpms)) < 0)
        fail_msg("libtpms backend: %s", strerror(-err));
    /* TPM2_Startup once, as firmware would. */
    assert_int_equal(tpmcrb_device_new(&(struct tpmcrb_config){
        .size = sizeof(struct tpmcrb_config),
        .base = TPMCRB_X86_BASE, .localities = 5,
        .sync_bound_us = 1000000 }, libtpms, &dev), 0);
    rsp = tpmcrb_buffer_mem(dev);
    tpmcrb_write(dev, CRB_LOC_CTRL, 4, LOC_CTRL_REQUEST);
    len = tc_startup(cmd, TPM_SU_CLEAR);
    memcpy(rsp, cmd, len);
    tpmcrb_write(dev, CRB_CTRL_START, 4, 1);
    assert_int_equal(tpmcrb_wait_idle(dev, 5000), 0);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_SUCCESS);
    tpmcrb_write(dev, CRB_LOC_CTRL, 4, LOC_CTRL_RELINQUISH);
    tpmcrb_device_free(dev);
    run_vm(&libtpms_kind, TPMCRB_LAYOUT_SPLIT, 5, 0, 0, 20, 3000);
    tpmcrb_backend_close(libtpms);
#else
    (void)s;
    skip();
#endif
}

static void quiet(enum tpmcrb_log_level level, const char *msg, void *opaque)
{
    (void)level; (void)msg; (void)opaque;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrate_split_sync),
        cmocka_unit_test(migrate_split_async),
        cmocka_unit_test(migrate_compat),
        cmocka_unit_test(migrate_libtpms),
    };

    /* The aborted transfers log checksum errors by design. */
    tpmcrb_log_set(TPMCRB_LOG_ERROR, quiet, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
