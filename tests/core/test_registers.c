/* SPDX-License-Identifier: BSD-3-Clause */
/* Register rules of the device core, one test per rule (docs/design.md,
 * "The register interface"),
 * through the ROM-device API (writes) with reads from the page memory,
 * checked against the full-trap read path as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/device.h"
#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "fake_backend.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE TPMCRB_PAGE_SIZE

struct fx {
    struct fake_backend fake;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    int irq_level, irq_calls, dirty_calls;
    uint64_t dirty_lo, dirty_hi;   /* union of the reported ranges */
};

static void on_irq(void *opaque, bool level)
{
    struct fx *f = opaque;

    f->irq_level = level;
    f->irq_calls++;
}

static void on_dirty(void *opaque, uint64_t off, uint64_t len)
{
    struct fx *f = opaque;

    if (!f->dirty_calls++ || off < f->dirty_lo)
        f->dirty_lo = off;
    if (off + len > f->dirty_hi)
        f->dirty_hi = off + len;
}

static struct fx *make(enum tpmcrb_layout layout, unsigned nloc, uint32_t bound)
{
    struct fx *f = calloc(1, sizeof(*f));

    fake_backend_init(&f->fake);
    tt_config(&f->cfg, layout, nloc, bound);
    f->cfg.irq = on_irq;
    f->cfg.dirty = on_dirty;
    f->cfg.opaque = f;
    assert_int_equal(tpmcrb_device_new(&f->cfg, &f->fake.be, &f->dev), 0);
    return f;
}

static int setup_split(void **state) { *state = make(TPMCRB_LAYOUT_SPLIT, 5, 100000); return 0; }
static int setup_compat(void **state) { *state = make(TPMCRB_LAYOUT_COMPAT, 5, 100000); return 0; }
static int setup_one(void **state) { *state = make(TPMCRB_LAYOUT_SPLIT, 1, 100000); return 0; }

static int teardown(void **state)
{
    struct fx *f = *state;

    atomic_store(&f->fake.block, false);
    tpmcrb_device_free(f->dev);
    free(f);
    return 0;
}

/* Memory read as the guest sees it, checked against the full-trap path. */
static uint32_t rd(struct fx *f, unsigned loc, uint32_t reg)
{
    uint32_t mem = tt_reg_read(f->dev, loc, reg);

    assert_int_equal(mem, (uint32_t)tpmcrb_read(f->dev,
                                                (uint64_t)loc * PAGE + reg, 4));
    return mem;
}

static void wr(struct fx *f, unsigned loc, uint32_t reg, uint32_t v)
{
    tt_reg_write(f->dev, loc, reg, v);
}

static void put_cmd(struct fx *f, unsigned loc, uint32_t size_field)
{
    uint8_t *b = tt_cmd_buffer(f->dev, loc);

    tpm_build_command(b, 4096, TPM_CC_GetRandom, (const uint8_t *)"\x00\x08", 2);
    tpm_put_be32(b + 2, size_field);
}

static void activate(struct fx *f, unsigned loc)
{
    wr(f, loc, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    assert_true(rd(f, loc, CRB_LOC_STS) & LOC_STS_GRANTED);
}

static void wait_done(struct fx *f)
{
    assert_int_equal(tpmcrb_wait_idle(f->dev, 5000), 0);
}

/* The usual command: a GetRandom from locality 0, START, and done. */
static void run_command(struct fx *f)
{
    put_cmd(f, 0, 12);
    wr(f, 0, CRB_CTRL_START, 1);
    wait_done(f);
}

/* ------------------------------------------------------------ reset */

static void reset_values_five(void **state)
{
    struct fx *f = *state;

    for (unsigned loc = 0; loc < 5; loc++) {
        assert_int_equal(rd(f, loc, CRB_LOC_STATE), 0x81);
        assert_int_equal(rd(f, loc, CRB_LOC_CTRL), 0);
        assert_int_equal(rd(f, loc, CRB_LOC_STS), 0);
        assert_int_equal(rd(f, loc, CRB_INTF_ID_LO), 0x25911);
        assert_int_equal(rd(f, loc, CRB_INTF_ID_HI), 0x00011014);
        assert_int_equal(rd(f, loc, CRB_CTRL_EXT_LO), 0);
        assert_int_equal(rd(f, loc, CRB_CTRL_REQ), 0);
        assert_int_equal(rd(f, loc, CRB_CTRL_STS), CTRL_STS_IDLE);
        assert_int_equal(rd(f, loc, CRB_CTRL_CANCEL), 0);
        assert_int_equal(rd(f, loc, CRB_CTRL_START), 0);
        assert_int_equal(rd(f, loc, CRB_INT_ENABLE), 0);
        assert_int_equal(rd(f, loc, CRB_INT_STS), 0);
        assert_int_equal(rd(f, loc, CRB_CMD_SIZE), 0x1000);
        assert_int_equal(rd(f, loc, CRB_CMD_LADDR), 0xFED45000u);
        assert_int_equal(rd(f, loc, CRB_CMD_HADDR), 0);
        assert_int_equal(rd(f, loc, CRB_RSP_SIZE), 0x1000);
        assert_int_equal(rd(f, loc, CRB_RSP_ADDR_LO), 0xFED45000u);
        assert_int_equal(rd(f, loc, CRB_RSP_ADDR_HI), 0);
    }
    assert_int_equal(tpmcrb_window_size(&f->cfg), 0x6000);
    assert_int_equal(tpmcrb_buffer_addr(&f->cfg), 0xFED45000u);
}

/* The page is guest memory of a little-endian device on every host: the
 * bytes a guest reads, not only the values this host's loads return. */
static void register_page_is_little_endian(void **state)
{
    struct fx *f = *state;
    const uint8_t *page = tpmcrb_regs_mem(f->dev);
    static const uint8_t intf_id[8] = { 0x11, 0x59, 0x02, 0x00,
                                        0x14, 0x10, 0x01, 0x00 };
    static const uint8_t cmd_addr[4] = { 0x00, 0x50, 0xD4, 0xFE };

    assert_int_equal(page[CRB_LOC_STATE], 0x81);
    assert_memory_equal(page + CRB_INTF_ID_LO, intf_id, sizeof(intf_id));
    assert_memory_equal(page + CRB_CMD_LADDR, cmd_addr, sizeof(cmd_addr));
    assert_int_equal(page[CRB_CMD_SIZE + 1], 0x10); /* 0x1000 */
    /* A byte written through the trapped path lands where it was aimed. */
    tt_reg_write(f->dev, 0, CRB_INT_ENABLE, INT_GLOBAL_ENABLE | INT_START);
    assert_int_equal(page[CRB_INT_ENABLE], INT_START);
    assert_int_equal(page[CRB_INT_ENABLE + 3], INT_GLOBAL_ENABLE >> 24);
}

static void reset_values_compat(void **state)
{
    struct fx *f = *state;

    for (unsigned loc = 0; loc < 5; loc++) {
        assert_int_equal(rd(f, loc, CRB_CMD_SIZE), 0xF80);
        assert_int_equal(rd(f, loc, CRB_CMD_LADDR), 0xFED40080u + loc * PAGE);
        assert_int_equal(rd(f, loc, CRB_RSP_SIZE), 0xF80);
        assert_int_equal(rd(f, loc, CRB_RSP_ADDR_LO), 0xFED40080u + loc * PAGE);
    }
    assert_int_equal(tpmcrb_window_size(&f->cfg), 0x5000);
}

static void reset_values_one_locality(void **state)
{
    struct fx *f = *state;

    /* The series' (and QEMU's) value: locality 0 only. */
    assert_int_equal(rd(f, 0, CRB_INTF_ID_LO), 0x25811);
    assert_int_equal(rd(f, 0, CRB_CMD_LADDR), 0xFED41000u);
    /* Locality 1's page does not exist: that offset is the buffer page. */
    wr(f, 1, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    assert_int_equal(rd(f, 0, CRB_LOC_STATE), 0x81);
}

/* ------------------------------------------------------------ localities */

static void locality_request_relinquish(void **state)
{
    struct fx *f = *state;

    wr(f, 0, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    for (unsigned loc = 0; loc < 5; loc++)
        assert_int_equal(rd(f, loc, CRB_LOC_STATE), 0x83); /* mirrored */
    assert_int_equal(rd(f, 0, CRB_LOC_STS), LOC_STS_GRANTED);
    assert_int_equal(rd(f, 1, CRB_LOC_STS), 0);
    assert_int_equal(rd(f, 0, CRB_LOC_CTRL), 0); /* write-only */
    wr(f, 0, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    assert_int_equal(rd(f, 0, CRB_LOC_STATE), 0x81);
    assert_int_equal(rd(f, 0, CRB_LOC_STS), 0);
}

static void locality_pending_request_granted_on_relinquish(void **state)
{
    struct fx *f = *state;

    activate(f, 1);
    wr(f, 2, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    wr(f, 3, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    /* A request does not preempt. */
    assert_int_equal(rd(f, 0, CRB_LOC_STATE), 0x80 | 0x2 | (1 << 2) | 1);
    wr(f, 1, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    /* The highest waiting locality wins. */
    assert_int_equal(rd(f, 0, CRB_LOC_STATE), 0x80 | 0x2 | (3 << 2) | 1);
    assert_int_equal(rd(f, 3, CRB_LOC_STS), LOC_STS_GRANTED);
    wr(f, 3, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    assert_int_equal(rd(f, 2, CRB_LOC_STS), LOC_STS_GRANTED);
}

static void locality_seize(void **state)
{
    struct fx *f = *state;

    activate(f, 1);
    wr(f, 0, CRB_LOC_CTRL, LOC_CTRL_SEIZE); /* lower: ignored */
    assert_int_equal(rd(f, 1, CRB_LOC_STS), LOC_STS_GRANTED);
    wr(f, 4, CRB_LOC_CTRL, LOC_CTRL_SEIZE);
    assert_int_equal(rd(f, 4, CRB_LOC_STS), LOC_STS_GRANTED);
    assert_int_equal(rd(f, 1, CRB_LOC_STS), LOC_STS_SEIZED);
    assert_int_equal(rd(f, 0, CRB_LOC_STATE) & LOC_STATE_ACTIVE_MASK, 4 << 2);
    /* beenSeized clears when the locality is granted again. */
    wr(f, 4, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    wr(f, 1, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    assert_int_equal(rd(f, 1, CRB_LOC_STS), LOC_STS_GRANTED);
}

static void reset_establishment_only_from_3_and_4(void **state)
{
    struct fx *f = *state;

    activate(f, 0);
    wr(f, 0, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    wr(f, 2, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    assert_int_equal(f->fake.reset_est_calls, 0);
    assert_true(rd(f, 0, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED);
    wr(f, 3, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    assert_int_equal(f->fake.reset_est_calls, 1);
    for (unsigned loc = 0; loc < 5; loc++)
        assert_false(rd(f, loc, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED);
}

/* Microseconds one register write takes. */
static double timed_wr(struct fx *f, unsigned loc, uint32_t reg, uint32_t v)
{
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    wr(f, loc, reg, v);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
}

/* With a slow backend (each establishment call takes 50 ms) and a command
 * running, every register write returns at once: resetEstablishment from
 * locality 3 and 4 clears the device's copy (what the guest reads) and
 * reaches the backend only when the command has completed, on the thread
 * that ran it — never beside the running command. */
static void reset_establishment_deferred_while_running(void **state)
{
    struct fx *f = *state;
    static const uint32_t others[][2] = {
        { CRB_INT_ENABLE, INT_GLOBAL_ENABLE }, { CRB_CTRL_REQ, CTRL_REQ_GO_IDLE },
        { CRB_CMD_SIZE, 4096 }, { CRB_RSP_SIZE, 4096 },
        { CRB_INT_STS, INT_START },
    };
    double worst = 0;

    f->fake.slow_est_us = 50000;
    atomic_store(&f->fake.block, true);
    activate(f, 4);
    put_cmd(f, 4, 12);
    wr(f, 4, CRB_CTRL_START, 1);
    while (!atomic_load(&f->fake.running))
        ;
    for (unsigned loc = 3; loc < 5; loc++) {
        double us = timed_wr(f, loc, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);

        worst = us > worst ? us : worst;
        assert_false(rd(f, loc, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED);
    }
    for (unsigned loc = 0; loc < 5; loc++) {
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
            double us = timed_wr(f, loc, others[i][0], others[i][1]);

            worst = us > worst ? us : worst;
        }
        assert_false(rd(f, loc, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED);
    }
    print_message("slowest register write during the command: %.1f us\n",
                  worst);
    assert_true(worst < 1000.0);
    assert_int_equal(f->fake.reset_est_calls, 0);
    atomic_store(&f->fake.block, false);
    wait_done(f);
    assert_int_equal(f->fake.reset_est_calls, 1);
    assert_int_equal(atomic_load(&f->fake.est_calls_while_running), 0);
    assert_false(f->fake.established);
    assert_false(rd(f, 0, CRB_LOC_STATE) & LOC_STATE_ESTABLISHED);
}

/* A guest that rewrites the size field while START copies the command:
 * what reaches the backend always agrees with its own header (START checks
 * its private copy against the size it validated). */
struct size_flipper {
    uint8_t *buf;
    _Atomic bool stop;
};

/* The guest's side of a race with the device on guest memory, which the
 * device must survive: kept out of ThreadSanitizer's sight (it would
 * report the race the test makes on purpose). */
__attribute__((no_sanitize_thread))
static void *flip_size(void *arg)
{
    struct size_flipper *fl = arg;
    volatile uint8_t *size_lo = fl->buf + 4;   /* low half of the size */
    uint32_t n = 0;

    while (!atomic_load(&fl->stop)) {
        uint16_t v = (n++ & 1) ? 12 : 4000;

        size_lo[0] = (uint8_t)(v >> 8);
        size_lo[1] = (uint8_t)v;
    }
    return NULL;
}

static void start_copies_what_it_checked(void **state)
{
    struct fx *f = *state;
    struct size_flipper fl = { .buf = tt_cmd_buffer(f->dev, 0) };
    unsigned refused = 0;
    pthread_t t;

    activate(f, 0);
    put_cmd(f, 0, 12);
    assert_int_equal(pthread_create(&t, NULL, flip_size, &fl), 0);
    for (unsigned i = 0; i < 20000; i++) {
        wr(f, 0, CRB_CTRL_START, 1);
        wait_done(f);
        refused += tpm_hdr_code(fl.buf) == TPM_RC_COMMAND_SIZE;
    }
    atomic_store(&fl.stop, true);
    pthread_join(t, NULL);
    print_message("%u commands ran, %u refused after a size change\n",
                  atomic_load(&f->fake.executed), refused);
    assert_int_equal(atomic_load(&f->fake.size_mismatches), 0);
    assert_true(atomic_load(&f->fake.executed) > 0);
}

/* A reset that gave up waiting for a command: that command's late
 * response never lands on the guest's next command. */
static void late_response_after_reset_dropped(void **state)
{
    struct fx *f = *state;
    uint8_t *rsp = tt_cmd_buffer(f->dev, 0);

    f->dev->reset_wait_ms = 50;
    atomic_store(&f->fake.block, true);
    activate(f, 0);
    put_cmd(f, 0, 12);
    wr(f, 0, CRB_CTRL_START, 1);
    tpmcrb_device_reset(f->dev);          /* gives up after 50 ms */
    activate(f, 0);
    /* The next command: a longer response tells the two apart. */
    put_cmd(f, 0, 12);
    wr(f, 0, CRB_CTRL_START, 1);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 1);
    f->fake.rsp_len = 32;
    atomic_store(&f->fake.block, false);  /* the old command ends now */
    wait_done(f);
    assert_int_equal(atomic_load(&f->fake.executed), 2);
    assert_int_equal(tpm_hdr_size(rsp), 32);
    assert_int_equal(tpm_hdr_code(rsp), TPM_RC_SUCCESS);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
}

/* ------------------------------------------------------------ control */

static void cmd_ready_and_go_idle(void **state)
{
    struct fx *f = *state;

    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY); /* not active: ignored */
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
    activate(f, 0);
    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    assert_int_equal(rd(f, 0, CRB_CTRL_REQ), 0);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), 0);
    assert_int_equal(rd(f, 3, CRB_CTRL_STS), 0); /* one TPM, every page */
    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    assert_int_equal(rd(f, 0, CRB_CTRL_REQ), 0);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY | CTRL_REQ_GO_IDLE);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
}

static void start_round_trip(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    activate(f, 0);
    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    f->fake.rsp_len = 42;
    run_command(f);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_int_equal(f->fake.last_len, 12);
    assert_int_equal(tpm_hdr_code(f->fake.last_cmd), TPM_CC_GetRandom);
    assert_int_equal(tpm_hdr_size(b), 42);
    assert_int_equal(tpm_hdr_code(b), 0);
    assert_int_equal(b[41], 41);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS) & CTRL_STS_FATAL, 0);
}

static void start_ignored_from_inactive_locality(void **state)
{
    struct fx *f = *state;

    activate(f, 0);
    put_cmd(f, 2, 12);
    wr(f, 2, CRB_CTRL_START, 1);
    assert_int_equal(rd(f, 2, CRB_CTRL_START), 0);
    wait_done(f);
    assert_int_equal(atomic_load(&f->fake.executed), 0);
}

static void start_while_busy_and_cancel(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    atomic_store(&f->fake.block, true);
    activate(f, 0);
    put_cmd(f, 0, 12);
    wr(f, 0, CRB_CTRL_START, 1);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 1);
    assert_true(tpmcrb_busy(f->dev));
    wr(f, 0, CRB_CTRL_START, 1); /* one command at a time */
    wr(f, 0, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE); /* not while busy */
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), 0);
    assert_true(fake_backend_wait_entered(&f->fake, 1)); /* it runs */
    wr(f, 0, CRB_CTRL_CANCEL, 1);
    assert_int_equal(rd(f, 0, CRB_CTRL_CANCEL), 1);
    wait_done(f);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    assert_int_equal(atomic_load(&f->fake.cancels), 1);
    assert_int_equal(tpm_hdr_code(b), TPM_RC_CANCELED);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
    /* CANCEL is cleared by software, and reads back what it wrote. */
    assert_int_equal(rd(f, 0, CRB_CTRL_CANCEL), 1);
    wr(f, 0, CRB_CTRL_CANCEL, 0);
    assert_int_equal(rd(f, 0, CRB_CTRL_CANCEL), 0);
}

static void bad_command_sizes(void **state)
{
    struct fx *f = *state;
    uint32_t bad[] = { 0, 9, 0x1001, 0xFFFFFFFFu };
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    activate(f, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_cmd(f, 0, bad[i]);
        wr(f, 0, CRB_CTRL_START, 1);
        assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
        assert_int_equal(tpm_hdr_code(b), TPM_RC_COMMAND_SIZE);
        assert_int_equal(tpm_hdr_size(b), 10);
    }
    /* The exact buffer size is still fine. */
    put_cmd(f, 0, 0x1000);
    wr(f, 0, CRB_CTRL_START, 1);
    wait_done(f);
    assert_int_equal(f->fake.last_len, 0x1000);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
}

static void compat_command_size_limit(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    activate(f, 0);
    put_cmd(f, 0, 0xF81);
    wr(f, 0, CRB_CTRL_START, 1);
    assert_int_equal(tpm_hdr_code(b), TPM_RC_COMMAND_SIZE);
    put_cmd(f, 0, 0xF80);
    wr(f, 0, CRB_CTRL_START, 1);
    wait_done(f);
    assert_int_equal(f->fake.last_len, 0xF80);
}

static void backend_failure_sets_fatal(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    f->fake.fail_with = -5;
    activate(f, 0);
    run_command(f);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
    assert_true(rd(f, 0, CRB_CTRL_STS) & CTRL_STS_FATAL);
    assert_int_equal(tpm_hdr_code(b), TPM_RC_FAILURE);
    /* No more commands until reset. */
    wr(f, 0, CRB_CTRL_START, 1);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    f->fake.fail_with = 0;
    tpmcrb_device_reset(f->dev);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
    activate(f, 0);
    run_command(f);
    assert_int_equal(atomic_load(&f->fake.executed), 2);
}

/* ------------------------------------------------------------ accesses */

static void sub_word_and_unaligned_writes(void **state)
{
    struct fx *f = *state;
    uint64_t base = 0;

    /* A byte write to LOC_CTRL (SeaBIOS does this). */
    tpmcrb_write(f->dev, base + CRB_LOC_CTRL, 1, LOC_CTRL_REQUEST);
    assert_int_equal(rd(f, 0, CRB_LOC_STS), LOC_STS_GRANTED);
    /* A byte of zero at LOC_CTRL+1 does nothing. */
    tpmcrb_write(f->dev, base + CRB_LOC_CTRL + 1, 1, 0);
    assert_int_equal(rd(f, 0, CRB_LOC_STS), LOC_STS_GRANTED);
    /* Word writes assemble CMD_SIZE. */
    tpmcrb_write(f->dev, CRB_CMD_SIZE, 2, 0x0123);
    tpmcrb_write(f->dev, CRB_CMD_SIZE + 2, 2, 0x4567);
    assert_int_equal(rd(f, 0, CRB_CMD_SIZE), 0x45670123);
    /* An unaligned dword across CMD_SIZE/CMD_LADDR. */
    tpmcrb_write(f->dev, CRB_CMD_SIZE + 2, 4, 0xAABBCCDD);
    assert_int_equal(rd(f, 0, CRB_CMD_SIZE), 0xCCDD0123);
    assert_int_equal(rd(f, 0, CRB_CMD_LADDR), 0xFED4AABBu);
    /* A qword write sets RSP_ADDR, as Linux's 64-bit read expects. */
    tpmcrb_write(f->dev, CRB_RSP_ADDR_LO, 8, 0x00000001FED40080ull);
    assert_int_equal(rd(f, 0, CRB_RSP_ADDR_LO), 0xFED40080u);
    assert_int_equal(rd(f, 0, CRB_RSP_ADDR_HI), 1);
    assert_int_equal(tpmcrb_read(f->dev, CRB_RSP_ADDR_LO, 8), 0x00000001FED40080ull);
    assert_int_equal(tpmcrb_write(f->dev, 0, 3, 0), -EINVAL);
}

static void read_only_registers_and_bad_offsets(void **state)
{
    struct fx *f = *state;
    uint8_t before[0x80];

    memcpy(before, tpmcrb_regs_mem(f->dev), sizeof(before));
    wr(f, 0, CRB_LOC_STATE, 0xFFFFFFFF);
    wr(f, 0, CRB_LOC_STS, 0xFFFFFFFF);
    wr(f, 0, CRB_INTF_ID_HI, 0xFFFFFFFF);
    wr(f, 0, CRB_CTRL_EXT_LO, 0xFFFFFFFF);
    wr(f, 0, CRB_CTRL_STS, 0xFFFFFFFF);
    wr(f, 0, 0x70, 0xFFFFFFFF);
    assert_memory_equal(before, tpmcrb_regs_mem(f->dev), sizeof(before));
    /* Past the window: ignored, never touches memory. */
    assert_int_equal(tpmcrb_write(f->dev, tpmcrb_window_size(&f->cfg), 4, 1), 0);
    assert_int_equal(tpmcrb_write(f->dev, tpmcrb_window_size(&f->cfg) - 4, 8, ~0ull), 0);
    assert_int_equal(tpmcrb_write(f->dev, UINT64_MAX - 2, 8, ~0ull), 0);
    assert_int_equal(tpmcrb_read(f->dev, UINT64_MAX - 2, 8), 0);
    assert_memory_equal(before, tpmcrb_regs_mem(f->dev), sizeof(before));
}

static void interrupts(void **state)
{
    struct fx *f = *state;

    activate(f, 0);
    assert_true(rd(f, 0, CRB_INT_STS) & INT_LOC_CHANGE);
    assert_int_equal(f->irq_level, 0); /* not enabled */
    wr(f, 0, CRB_INT_ENABLE, INT_GLOBAL_ENABLE | INT_START);
    assert_int_equal(rd(f, 0, CRB_INT_ENABLE), INT_GLOBAL_ENABLE | INT_START);
    assert_int_equal(f->irq_level, 0); /* loc change is not enabled */
    wr(f, 0, CRB_INT_STS, INT_ALL); /* write 1 to clear */
    assert_int_equal(rd(f, 0, CRB_INT_STS), 0);
    run_command(f);
    assert_int_equal(rd(f, 0, CRB_INT_STS), INT_START);
    assert_int_equal(f->irq_level, 1);
    wr(f, 0, CRB_INT_STS, INT_START);
    assert_int_equal(f->irq_level, 0);
    assert_true(f->irq_calls >= 2);
}

/* ------------------------------------------------------------ firmware */

static void seabios_intf_id_absolute_writes(void **state)
{
    struct fx *f = *state;

    wr(f, 0, CRB_INTF_ID_LO, 0x00020000);
    assert_int_equal(rd(f, 0, CRB_INTF_ID_LO), 0x25911);
    wr(f, 0, CRB_INTF_ID_LO, 0x00080000);
    /* The lock sticks; the CRB selector and every other field survive. */
    assert_int_equal(rd(f, 0, CRB_INTF_ID_LO), 0x25911 | INTF_SEL_LOCK);
    wr(f, 0, CRB_INTF_ID_LO, 0);
    assert_int_equal(rd(f, 0, CRB_INTF_ID_LO), 0x25911 | INTF_SEL_LOCK);
    tpmcrb_device_reset(f->dev);
    assert_int_equal(rd(f, 0, CRB_INTF_ID_LO), 0x25911);
}

static void seabios_start_from_idle(void **state)
{
    struct fx *f = *state;

    activate(f, 0);
    assert_int_equal(rd(f, 0, CRB_CTRL_STS), CTRL_STS_IDLE);
    run_command(f);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
}

/* EDK2 points the buffers at base+0x80 and writes its command there. */
static void edk2_inpage_buffer_in_split_layout(void **state)
{
    struct fx *f = *state;
    uint8_t cmd[12];
    uint8_t *inpage = (uint8_t *)tpmcrb_regs_mem(f->dev) + 0x80;

    activate(f, 0);
    wr(f, 0, CRB_CMD_HADDR, 0);
    wr(f, 0, CRB_CMD_LADDR, 0xFED40080u);
    wr(f, 0, CRB_CMD_SIZE, 0xF80);
    wr(f, 0, CRB_RSP_ADDR_HI, 0);
    wr(f, 0, CRB_RSP_ADDR_LO, 0xFED40080u);
    wr(f, 0, CRB_RSP_SIZE, 0xF80);
    tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetRandom, (const uint8_t *)"\0\4", 2);
    for (unsigned i = 0; i < sizeof(cmd); i++) /* byte by byte, trapped */
        tpmcrb_write(f->dev, 0x80 + i, 1, cmd[i]);
    f->fake.rsp_len = 20;
    wr(f, 0, CRB_CTRL_START, 1);
    wait_done(f);
    assert_int_equal(f->fake.last_len, 12);
    assert_int_equal(tpm_hdr_size(inpage), 20);
    /* A later OS finds the separate buffer again. */
    assert_int_equal(rd(f, 0, CRB_CMD_LADDR), 0xFED45000u);
    assert_int_equal(rd(f, 0, CRB_CMD_SIZE), 0x1000);
    assert_int_equal(rd(f, 0, CRB_RSP_ADDR_LO), 0xFED45000u);
}

static void foreign_buffer_address_ignored(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tpmcrb_buffer_mem(f->dev);

    activate(f, 0);
    wr(f, 0, CRB_CMD_LADDR, 0x1000);  /* guest RAM: not ours */
    wr(f, 0, CRB_RSP_ADDR_LO, 0x2000);
    f->fake.rsp_len = 16;
    run_command(f);
    assert_int_equal(f->fake.last_len, 12);
    assert_int_equal(tpm_hdr_size(b), 16);
}

static void response_larger_than_buffer(void **state)
{
    struct fx *f = *state;
    uint8_t *b = tt_cmd_buffer(f->dev, 0);

    activate(f, 0);
    wr(f, 0, CRB_RSP_SIZE, 16); /* software shrinks the response buffer */
    f->fake.rsp_len = 100;
    run_command(f);
    assert_int_equal(tpm_hdr_code(b), TPM_RC_FAILURE);
    assert_int_equal(tpm_hdr_size(b), 10);
}

/* An embedder that keeps a copy of the window learns of every change:
 * registers, the response in the buffer page, trapped data bytes. */
static void dirty_ranges_cover_every_change(void **state)
{
    struct fx *f = *state;
    uint64_t buf = tpmcrb_regs_size(&f->cfg);

    activate(f, 0);
    f->fake.rsp_len = 300;
    f->dirty_calls = 0;
    f->dirty_hi = 0;
    run_command(f);     /* filling the buffer in memory reports nothing */
    assert_true(f->dirty_calls > 0);
    assert_true(f->dirty_lo <= CRB_CTRL_START);
    assert_true(f->dirty_hi >= buf + 300);
    f->dirty_calls = 0;
    f->dirty_hi = 0;
    tpmcrb_write(f->dev, 0x100, 4, 0x11223344); /* in-page data bytes */
    assert_int_equal(f->dirty_lo, 0x100);
    assert_int_equal(f->dirty_hi, 0x104);
}

static void async_mode_completes_later(void **state)
{
    struct fx *f = make(TPMCRB_LAYOUT_SPLIT, 5, 0);
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;

    (void)state;
    activate(f, 0);
    run_command(f);
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
    tpmcrb_get_stats(f->dev, &st);
    assert_int_equal(st.commands, 1);
    assert_int_equal(st.completed_sync, 0);
    *state = f;
}

static void sync_bound_completes_in_write(void **state)
{
    struct fx *f = *state;
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;

    activate(f, 0);
    put_cmd(f, 0, 12);
    wr(f, 0, CRB_CTRL_START, 1);
    /* No wait: the write itself waited for the fast fake backend. */
    assert_int_equal(rd(f, 0, CRB_CTRL_START), 0);
    tpmcrb_get_stats(f->dev, &st);
    assert_int_equal(st.completed_sync, 1);
}

/* ACPI-start guests (start method 8) never request a locality. */
static void locality0_held_from_reset(void **state)
{
    struct fx *f = *state;

    assert_int_equal(rd(f, 0, CRB_LOC_STS), 0);
    f->cfg.locality0_at_reset = true;
    tpmcrb_device_free(f->dev);
    assert_int_equal(tpmcrb_device_new(&f->cfg, &f->fake.be, &f->dev), 0);
    assert_int_equal(rd(f, 0, CRB_LOC_STS), LOC_STS_GRANTED);
    assert_int_equal(rd(f, 0, CRB_LOC_STATE) & 0x9E, 0x82);
    run_command(f);
    assert_int_equal(atomic_load(&f->fake.executed), 1);
    wr(f, 0, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
    tpmcrb_device_reset(f->dev); /* and again after a reset */
    assert_int_equal(rd(f, 0, CRB_LOC_STS), LOC_STS_GRANTED);
}

static void bad_configs_rejected(void **state)
{
    struct fake_backend fb;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;

    (void)state;
    fake_backend_init(&fb);
    tpmcrb_config_init(&cfg);
    cfg.localities = 3;
    assert_int_equal(tpmcrb_device_new(&cfg, &fb.be, &dev), -EINVAL);
    tpmcrb_config_init(&cfg);
    cfg.base = 0xFED40100;
    assert_int_equal(tpmcrb_device_new(&cfg, &fb.be, &dev), -EINVAL);
    tpmcrb_config_init(&cfg);
    cfg.layout = 7;
    assert_int_equal(tpmcrb_device_new(&cfg, &fb.be, &dev), -EINVAL);
    tpmcrb_config_init(&cfg);
    cfg.base = UINT64_MAX & ~0xFFFull;
    assert_int_equal(tpmcrb_device_new(&cfg, &fb.be, &dev), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reset_values_five, setup_split, teardown),
        cmocka_unit_test_setup_teardown(register_page_is_little_endian, setup_split, teardown),
        cmocka_unit_test_setup_teardown(reset_values_compat, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(reset_values_one_locality, setup_one, teardown),
        cmocka_unit_test_setup_teardown(locality_request_relinquish, setup_split, teardown),
        cmocka_unit_test_setup_teardown(locality_pending_request_granted_on_relinquish, setup_split, teardown),
        cmocka_unit_test_setup_teardown(locality_seize, setup_split, teardown),
        cmocka_unit_test_setup_teardown(reset_establishment_only_from_3_and_4, setup_split, teardown),
        cmocka_unit_test_setup_teardown(reset_establishment_deferred_while_running, setup_split, teardown),
        cmocka_unit_test_setup_teardown(start_copies_what_it_checked, setup_split, teardown),
        cmocka_unit_test_setup_teardown(late_response_after_reset_dropped, setup_split, teardown),
        cmocka_unit_test_setup_teardown(cmd_ready_and_go_idle, setup_split, teardown),
        cmocka_unit_test_setup_teardown(start_round_trip, setup_split, teardown),
        cmocka_unit_test_setup_teardown(start_round_trip, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(start_ignored_from_inactive_locality, setup_split, teardown),
        cmocka_unit_test_setup_teardown(start_while_busy_and_cancel, setup_split, teardown),
        cmocka_unit_test_setup_teardown(start_while_busy_and_cancel, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(bad_command_sizes, setup_split, teardown),
        cmocka_unit_test_setup_teardown(compat_command_size_limit, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(backend_failure_sets_fatal, setup_split, teardown),
        cmocka_unit_test_setup_teardown(sub_word_and_unaligned_writes, setup_split, teardown),
        cmocka_unit_test_setup_teardown(read_only_registers_and_bad_offsets, setup_split, teardown),
        cmocka_unit_test_setup_teardown(interrupts, setup_split, teardown),
        cmocka_unit_test_setup_teardown(seabios_intf_id_absolute_writes, setup_split, teardown),
        cmocka_unit_test_setup_teardown(seabios_start_from_idle, setup_compat, teardown),
        cmocka_unit_test_setup_teardown(edk2_inpage_buffer_in_split_layout, setup_split, teardown),
        cmocka_unit_test_setup_teardown(foreign_buffer_address_ignored, setup_split, teardown),
        cmocka_unit_test_setup_teardown(response_larger_than_buffer, setup_split, teardown),
        cmocka_unit_test_setup_teardown(dirty_ranges_cover_every_change, setup_split, teardown),
        cmocka_unit_test_teardown(async_mode_completes_later, teardown),
        cmocka_unit_test_setup_teardown(sync_bound_completes_in_write, setup_split, teardown),
        cmocka_unit_test_setup_teardown(locality0_held_from_reset, setup_split, teardown),
        cmocka_unit_test(bad_configs_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
