/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared-memory poll transport: a "guest" that only stores to memory,
 * driving the full CRB protocol, with every register rule still holding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "fake_backend.h"
#include "tools/cli/crb_driver.h"
#include "tpm_test_util.h"
#include "tpmcrb.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct fx {
    struct fake_backend fake;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    fake_backend_init(&f->fake);
    tpmcrb_config_init(&f->cfg);
    f->cfg.sync_bound_us = 0; /* nobody waits in a write in poll mode */
    assert_int_equal(tpmcrb_device_new(&f->cfg, &f->fake.be, &f->dev), 0);
    assert_int_equal(tpmcrb_poller_start(f->dev, &f->poller), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tpmcrb_poller_stop(f->poller);
    tpmcrb_device_free(f->dev);
    free(f);
    return 0;
}

static uint32_t wait_value(struct fx *f, unsigned loc, uint32_t off,
                           uint32_t want)
{
    uint32_t v = 0;

    for (int i = 0; i < 20000; i++) {
        v = tt_reg_read(f->dev, loc, off);
        if (v == want)
            break;
        struct timespec ts = { 0, 50000 };
        nanosleep(&ts, NULL);
    }
    return v;
}

/* Linux's TPM2 timeout C: how long tpm_crb waits for a locality to be
 * granted, for cmdReady and for goIdle. */
#define LINUX_TPM2_TIMEOUT_C_MS 200u

/* @n commands in Linux's order, each wait for the device at most
 * @timeout_ms (0: the driver's default). */
static void transmit_within(struct fx *f, unsigned loc, unsigned n,
                            unsigned timeout_ms)
{
    struct crb_driver d = { .shared_memory = true };
    uint8_t cmd[12], rsp[64];
    uint32_t len;

    assert_int_equal(crb_driver_init(&d, f->dev, loc), 0);
    if (timeout_ms)
        d.timeout_ms = timeout_ms;
    tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetRandom, (const uint8_t *)"\0\x10", 2);
    f->fake.rsp_len = 28;
    for (unsigned i = 0; i < n; i++) {
        memset(rsp, 0, sizeof(rsp));
        assert_int_equal(tt_transmit(&d, cmd, sizeof(cmd), rsp, sizeof(rsp),
                                     &len), TPM_RC_SUCCESS);
        assert_int_equal(len, 28);
        assert_int_equal(rsp[27], 27);
    }
    assert_int_equal(atomic_load(&f->fake.executed), n);
    assert_int_equal(f->fake.last_locality, loc);
}

static void transmit_many(struct fx *f, unsigned loc, unsigned n)
{
    transmit_within(f, loc, n, 0);
}

static void linux_sequence_through_memory(void **state)
{
    transmit_many(*state, 0, 200);
}

static void higher_locality_through_memory(void **state)
{
    transmit_many(*state, 3, 20);
}

static void read_only_register_restored(void **state)
{
    struct fx *f = *state;

    tt_reg_store(f->dev, 2, CRB_LOC_STATE, 0);
    tt_reg_store(f->dev, 0, CRB_CTRL_STS, 0xFFFFFFFF);
    assert_int_equal(wait_value(f, 2, CRB_LOC_STATE, 0x81), 0x81);
    assert_int_equal(wait_value(f, 0, CRB_CTRL_STS, CTRL_STS_IDLE), CTRL_STS_IDLE);
}

static void seabios_intf_id_in_memory(void **state)
{
    struct fx *f = *state;

    tt_reg_store(f->dev, 0, CRB_INTF_ID_LO, 0x00020000);
    assert_int_equal(wait_value(f, 0, CRB_INTF_ID_LO, 0x25911), 0x25911);
    tt_reg_store(f->dev, 0, CRB_INTF_ID_LO, 0x00080000);
    assert_int_equal(wait_value(f, 0, CRB_INTF_ID_LO, 0xA5911), 0xA5911);
}

static void start_from_inactive_locality_ignored(void **state)
{
    struct fx *f = *state;
    uint8_t *buf = tpmcrb_buffer_mem(f->dev);

    tpm_build_command(buf, 4096, TPM_CC_GetRandom, (const uint8_t *)"\0\x10", 2);
    tt_reg_store(f->dev, 1, CRB_CTRL_START, 1);
    assert_int_equal(wait_value(f, 1, CRB_CTRL_START, 0), 0);
    assert_int_equal(atomic_load(&f->fake.executed), 0);
}

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The device thread spins after activity but must leave an idle guest's
 * CPU alone: at most 1 % of a core. */
/* The device's threads carry names (top -H, perf): the poll thread here,
 * the executor's worker in every device. */
static bool thread_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    bool found = false;

    assert_non_null(d);
    while (!found && (e = readdir(d))) {
        char path[288], comm[32] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
            continue;
        if (fgets(comm, sizeof(comm), f))
            found = !strncmp(comm, name, strlen(name)) && comm[strlen(name)] == '\n';
        fclose(f);
    }
    closedir(d);
    return found;
}

static void threads_are_named(void **state)
{
    (void)state;
    assert_true(thread_named("tpmcrb-poll"));
    assert_true(thread_named("tpmcrb-worker"));
    assert_false(thread_named("tpmcrb-none"));
}

static void idle_cpu_below_one_percent(void **state)
{
    struct fx *f = *state;
    struct timespec settle = { 0, 300000000 }, idle = { 2, 0 };
    double before, used;

    transmit_many(f, 0, 5);
    nanosleep(&settle, NULL);
    before = cpu_seconds();
    nanosleep(&idle, NULL);
    used = cpu_seconds() - before;
    print_message("idle CPU: %.3f%% of one core\n", used / 2.0 * 100);
    assert_true(used / 2.0 < 0.01);
}

/* A guest quiet long enough for the poll thread's longest sleep: its next
 * command, written while the thread sleeps, is picked up in time for Linux's
 * driver, whose locality request and cmdReady give up after timeout C. */
static void command_after_a_quiet_spell(void **state)
{
    struct fx *f = *state;
    struct timespec quiet = { 3, 0 };

    nanosleep(&quiet, NULL);
    transmit_within(f, 0, 2, LINUX_TPM2_TIMEOUT_C_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(linux_sequence_through_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(higher_locality_through_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_register_restored, setup, teardown),
        cmocka_unit_test_setup_teardown(seabios_intf_id_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(start_from_inactive_locality_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_cpu_below_one_percent, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(command_after_a_quiet_spell, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
