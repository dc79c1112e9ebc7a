/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench trap [COUNT [BIG_COUNT]]`: what trap mode costs on real hardware
 * virtualization (docs/design.md, "Tests and benchmarks").
 *
 * KVM part: runs the example monitor (examples/kvm-vmm, found next to this
 * binary or through $TPMCRB_KVM_VMM) with its freestanding guest for each
 * mapping: full trap with the in-page buffer (QEMU upstream), ROM page with
 * the in-page buffer (the series), ROM page with a separate buffer page
 * (tpmcrb), each with the synchronous-completion bound at 0 and at its
 * default. Per mapping and command (a 12-byte TPM2_GetRandom and a command
 * as large as the series' buffer): exits per command, split into read
 * exits (registers and buffer alike: only full trap has any), register-
 * write exits and data exits (command-buffer writes); µs per command when
 * the guest polls START; how often its first status read already saw the
 * response; and µs per command when the guest sleeps 1 ms as Linux does
 * whenever that first read shows START still set.
 *
 * Callgrind part (no KVM needed): instructions per TPM2_GetRandom through
 * the device, driven in-process in Linux's order, against calling the
 * backend directly.
 */
#include "tools/bench/bench.h"
#include "tools/tool.h"
#include "tools/vm/vm_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_COUNT     200u
#define CALLGRIND_COUNT   200u
/* Long enough that START always completes inside the write under
 * valgrind, so nothing polls: polling would count the emulator's thread
 * scheduling, not the device. */
#define CALLGRIND_BOUND_US 10000000u

static const struct mapping {
    const char *key;           /* in BENCH keys */
    const char *mapping, *layout;
} mappings[] = {
    { "full_trap", "trap", "compat" },
    { "series",    "rom",  "compat" },
    { "split",     "rom",  "split"  },
};

static const unsigned bounds[] = { 0, TPMCRB_SYNC_BOUND_DEFAULT_US };

/* ------------------------------------------------------------ processes */

static bool self_dir(char *dir, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return false;
    exe[n] = '\0';
    snprintf(dir, cap, "%s", dirname(exe));
    return true;
}

/* $TPMCRB_KVM_VMM, the build tree, or the installed libexec folder. */
static bool find_monitor(char *path, size_t cap)
{
    static const char *rel[] = { "../../examples/kvm-vmm/tpmcrb-kvm-vmm",
                                 "../libexec/tpmcrb/tpmcrb-kvm-vmm" };
    const char *env = getenv("TPMCRB_KVM_VMM");
    char dir[PATH_MAX];

    if (env && *env) {
        snprintf(path, cap, "%s", env);
        return access(path, X_OK) == 0;
    }
    if (!self_dir(dir, sizeof(dir)))
        return false;
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
        if (snprintf(path, cap, "%s/%s", dir, rel[i]) < (int)cap &&
            access(path, X_OK) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ KVM part */

/* One STAT line of the monitor, as numbers. */
struct stat_line {
    char cmd[8], timing[8];
    unsigned bytes, n, ready_first;
    double us, reg_read, reg_write, data_read, data_write;
};

static bool parse_stat(const char *line, struct stat_line *s)
{
    const char *p;

    memset(s, 0, sizeof(*s));
    if (strncmp(line, "STAT ", 5) != 0)
        return false;
    p = strstr(line, " cmd=");
    if (!p || sscanf(p, " cmd=%7s bytes=%u timing=%7s n=%u", s->cmd,
                     &s->bytes, s->timing, &s->n) != 4)
        return false;
    p = strstr(line, " us=");
    if (!p || sscanf(p, " us=%lf reg_read=%lf reg_write=%lf data_read=%lf "
                     "data_write=%lf", &s->us, &s->reg_read, &s->reg_write,
                     &s->data_read, &s->data_write) != 5)
        return false;
    p = strstr(line, " ready_first=");
    return p && sscanf(p, " ready_first=%u", &s->ready_first) == 1 && s->n;
}

static void print_exits(const char *key, const struct stat_line *s)
{
    double reads = s->reg_read + s->data_read;

    printf("BENCH trap.%s.%s.bytes=%u\n", key, s->cmd, s->bytes);
    printf("BENCH trap.%s.%s.exits_per_command=%.2f\n", key, s->cmd,
           reads + s->reg_write + s->data_write);
    printf("BENCH trap.%s.%s.read_exits=%.2f\n", key, s->cmd, reads);
    printf("BENCH trap.%s.%s.reg_write_exits=%.2f\n", key, s->cmd, s->reg_write);
    printf("BENCH trap.%s.%s.data_exits=%.2f\n", key, s->cmd, s->data_write);
}

static void print_timing(const char *key, unsigned bound,
                         const struct stat_line *s)
{
    const char *metric = strcmp(s->timing, "linux") ? "us_per_command"
                                                     : "linux_us_per_command";

    printf("BENCH trap.%s.%s.bound%u.%s=%.2f\n", key, s->cmd, bound, metric,
           s->us);
    if (strcmp(s->timing, "linux"))
        printf("BENCH trap.%s.%s.bound%u.ready_first_pct=%.1f\n", key, s->cmd,
               bound, 100.0 * s->ready_first / s->n);
}

/* Linux-timed GetRandom µs, kept for the comparison with QEMU's way. */
struct summary {
    double qemu_way_us, split_us;
};

static int run_mapping(const char *monitor, const struct mapping *m,
                       unsigned bound, const unsigned count[2],
                       struct summary *sum)
{
    char bound_s[16], count_s[16], big_s[16], *out = NULL;
    char *argv[] = { (char *)monitor, "--quiet", "--mapping", (char *)m->mapping,
                     "--layout", (char *)m->layout, "--bound", bound_s,
                     "--bench", count_s, "--big-count", big_s, NULL };
    unsigned lines = 0;
    int rc;

    snprintf(bound_s, sizeof(bound_s), "%u", bound);
    snprintf(count_s, sizeof(count_s), "%u", count[0]);
    snprintf(big_s, sizeof(big_s), "%u", count[1]);
    rc = vm_capture(argv, &out);
    for (char *line = out ? strtok(out, "\n") : NULL; rc == 0 && line;
         line = strtok(NULL, "\n")) {
        struct stat_line s;

        if (!parse_stat(line, &s))
            continue;
        lines++;
        if (bound == TPMCRB_SYNC_BOUND_DEFAULT_US && !strcmp(s.timing, "poll"))
            print_exits(m->key, &s);
        print_timing(m->key, bound, &s);
        if (!strcmp(s.timing, "linux") && !strcmp(s.cmd, "small")) {
            if (!strcmp(m->key, "full_trap") && bound == 0)
                sum->qemu_way_us = s.us;
            if (!strcmp(m->key, "split") && bound)
                sum->split_us = s.us;
        }
    }
    free(out);
    if (rc != 0 || lines != 4) {
        LOG_ERROR("%s --mapping %s --layout %s "
                "failed (exit %d)", monitor, m->mapping, m->layout, rc);
        return -EIO;
    }
    return 0;
}

/* @count: small and large commands per measurement. */
static int kvm_part(const unsigned count[2])
{
    struct summary sum = { 0 };
    char monitor[PATH_MAX];
    int err = 0;

    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("# trap: KVM part skipped: /dev/kvm: %s (no hardware "
               "virtualization here; examples/kvm-vmm/nested-test.sh runs "
               "it inside a QEMU TCG guest with nested SVM)\n", strerror(errno));
        printf("BENCH trap.kvm_skipped=1\n");
        return 0;
    }
    if (!find_monitor(monitor, sizeof(monitor))) {
        printf("# trap: KVM part skipped: tpmcrb-kvm-vmm not found (build "
               "examples/kvm-vmm or set TPMCRB_KVM_VMM)\n");
        printf("BENCH trap.kvm_skipped=1\n");
        return 0;
    }
    printf("BENCH trap.small_commands_per_measurement=%u\n", count[0]);
    printf("BENCH trap.big_commands_per_measurement=%u\n", count[1]);
    for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]) && !err; i++)
        for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]) && !err; b++)
            err = run_mapping(monitor, &mappings[i], bounds[b], count, &sum);
    if (!err && sum.qemu_way_us > 0 && sum.split_us > 0)
        printf("BENCH trap.linux_speedup_split_vs_qemu_way=%.1f\n",
               sum.qemu_way_us / sum.split_us);
    return err;
}

/* ------------------------------------------------------------ callgrind */

/* The loops callgrind measures, by name (--toggle-collect): keep them out
 * of line. */
static __attribute__((noinline)) int trap_cg_direct(struct tpmcrb_backend *be,
                                                    unsigned count)
{
    uint8_t cmd[TPM_HEADER_SIZE + 2], rsp[TPMCRB_PAGE_SIZE];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetRandom,
                                     (const uint8_t *)"\x00\x20", 2), rlen;

    for (unsigned i = 0; i < count; i++)
        if (be->ops->execute(be, 0, cmd, len, rsp, sizeof(rsp), &rlen) < 0)
            return -EIO;
    return 0;
}

static __attribute__((noinline)) int trap_cg_device(struct crb_driver *d,
                                                    unsigned count)
{
    uint8_t cmd[TPM_HEADER_SIZE + 2], rsp[TPMCRB_PAGE_SIZE];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetRandom,
                                     (const uint8_t *)"\x00\x20", 2), rlen;

    for (unsigned i = 0; i < count; i++)
        if (crb_driver_transmit(d, cmd, len, rsp, sizeof(rsp), &rlen) < 0)
            return -EIO;
    return 0;
}

/* Under valgrind: set up a started TPM behind a ROM-mode split device,
 * then run one of the two loops. */
static int callgrind_child(const char *mode, unsigned count)
{
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct tpmcrb_config cfg;
    struct crb_driver d = { 0 };
    uint8_t cmd[16], rsp[64];
    uint32_t len, rlen;
    int err;

    if (tpmcrb_backend_open("libtpms", NULL, &be) < 0)
        return EXIT_RUNTIME;
    tpmcrb_config_init(&cfg);
    cfg.sync_bound_us = CALLGRIND_BOUND_US;
    if (tpmcrb_device_new(&cfg, be, &dev) < 0) {
        tpmcrb_backend_close(be);
        return EXIT_RUNTIME;
    }
    crb_driver_init(&d, dev, 0);
    /* Started directly, so that the device's worker never ran in the
     * "direct" measurement. */
    len = tpm_build_command(cmd, sizeof(cmd), TPM_CC_Startup,
                            (const uint8_t *)"\0\0", 2);
    be->ops->execute(be, 0, cmd, len, rsp, sizeof(rsp), &rlen);
    err = strcmp(mode, "direct") ? trap_cg_device(&d, count)
                                 : trap_cg_direct(be, count);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(be);
    return err ? EXIT_RUNTIME : EXIT_OK;
}

/* Instructions callgrind collected, from its output file. */
static double callgrind_total(const char *file)
{
    char line[256];
    double total = -1;
    FILE *f = fopen(file, "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8))
            total = strtod(strchr(line, ':') + 1, NULL);
    fclose(f);
    return total;
}

/* Instructions per command for @mode, collected only inside @toggles. */
static double callgrind_run(const char *mode, const char *const toggles[],
                            unsigned count)
{
    char dir[] = "/tmp/tpmcrb-callgrind.XXXXXX", out_opt[64 + sizeof(dir)];
    char file[32 + sizeof(dir)], self[PATH_MAX], count_s[16], *ignored;
    char *argv[16];
    unsigned n = 0;
    ssize_t len;
    double total;
    int rc;

    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0 || !mkdtemp(dir))
        return -1;
    self[len] = '\0';
    snprintf(file, sizeof(file), "%s/callgrind.out", dir);
    snprintf(out_opt, sizeof(out_opt), "--callgrind-out-file=%s", file);
    snprintf(count_s, sizeof(count_s), "%u", count);
    argv[n++] = "valgrind";
    argv[n++] = "-q";
    argv[n++] = "--tool=callgrind";
    argv[n++] = out_opt;
    argv[n++] = "--collect-atstart=no";
    for (unsigned i = 0; toggles[i]; i++)
        argv[n++] = (char *)toggles[i];
    argv[n++] = self;
    argv[n++] = "bench";
    argv[n++] = "trap";
    argv[n++] = "--callgrind-child";
    argv[n++] = (char *)mode;
    argv[n++] = count_s;
    argv[n] = NULL;
    rc = vm_capture_stdout(argv, &ignored, true);
    free(ignored);
    total = rc == 0 ? callgrind_total(file) : -1;
    unlink(file);
    rmdir(dir);
    if (rc == 127)
        return -2;
    return total < 0 ? -1 : total / count;
}

/*
 * Through the device, what is counted: the driver's register accesses
 * and buffer copies, every tpmcrb_write (lock, core, publishing), the
 * command on the START thread (executor_run_quick) or on the worker
 * (executor_run_job) and the hand-off, but not the time spent waiting for
 * the worker (crb_executor_wait, toggled off): under valgrind's serialised
 * threads that spin measures the emulator's scheduler.
 */
static int callgrind_part(void)
{
    static const char *const direct[] = {
        "--toggle-collect=trap_cg_direct", NULL };
    static const char *const device[] = {
        "--toggle-collect=trap_cg_device", "--toggle-collect=executor_run_job",
        "--toggle-collect=crb_executor_wait",
        "--toggle-collect=executor_run_quick", NULL };
    double d = callgrind_run("direct", direct, CALLGRIND_COUNT);
    double v = d > 0 ? callgrind_run("device", device, CALLGRIND_COUNT) : d;

    if (d == -2) {
        printf("# trap: callgrind part skipped: valgrind not installed\n");
        printf("BENCH trap.callgrind_skipped=1\n");
        return 0;
    }
    if (d <= 0 || v <= 0) {
        LOG_ERROR("callgrind run failed");
        return -EIO;
    }
    printf("BENCH trap.callgrind.direct_instructions_per_command=%.0f\n", d);
    printf("BENCH trap.callgrind.device_instructions_per_command=%.0f\n", v);
    printf("BENCH trap.callgrind.device_overhead_instructions=%.0f\n", v - d);
    printf("BENCH trap.callgrind.device_to_direct_ratio=%.2f\n", v / d);
    return 0;
}

/* ------------------------------------------------------------ entry */

int bench_trap(int argc, char **argv)
{
    unsigned count[2] = { DEFAULT_COUNT, 0 };
    int err;

    if (argc == 4 && !strcmp(argv[1], "--callgrind-child"))
        return callgrind_child(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    for (int i = 1; i < argc && i <= 2; i++)
        count[i - 1] = (unsigned)strtoul(argv[i], NULL, 0);
    if (!count[1])
        count[1] = count[0];
    if (argc > 3 || !count[0]) {
        fprintf(stderr, "usage: tpmcrb bench trap [COUNT [BIG_COUNT]]\n");
        return EXIT_USAGE;
    }
    err = kvm_part(count);
    if (callgrind_part() < 0 || err < 0)
        return EXIT_RUNTIME;
    return EXIT_OK;
}
