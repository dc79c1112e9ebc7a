/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench qemu` (DESIGN.md §4b, §8.3): guest TPM2_GetRandom(32)
 * throughput through /dev/tpm0 and /dev/tpmrm0, same kernel, same
 * initramfs, one run, on
 *   qemu_stock       Debian's QEMU with its tpm-crb and an swtpm child
 *                    (the command runs asynchronously in QEMU's thread pool)
 *   tpmcrb_trap      Debian's QEMU patched with -device tpmcrb
 *                    (integrations/qemu): ROM-device trap mode, embedded
 *                    libtpms, TPM2 start method 7
 *   tpmcrb_trap_sm8  the same with start method 8 (CRB with ACPI start)
 *   tpmcrb_shm       `tpmcrb vm`'s shared-memory poll mode on the stock
 *                    QEMU, start method 8
 * For trap mode it also reports the share of commands answered before the
 * guest's first status read: those the device completed inside the START
 * write itself (libtpmcrb's completed_sync), read from the device's QOM
 * properties over QMP before and after each loop.
 */
#include "tools/bench_qemu.h"
#include "tools/commands.h"
#include "tools/vm.h"
#include "tools/vm_patched_qemu.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MARK       "TPMCRB-BENCH-MARK "
#define NMARKS     3   /* before the /dev/tpm0 loop, between, after */
#define QMP_LINE   4096

struct bench_config {
    const char *name;
    enum vm_device device;
    unsigned start_method;
};

static const struct bench_config configs[] = {
    { "qemu_stock",      VM_DEVICE_QEMU_STOCK,   7 },
    { "tpmcrb_trap",     VM_DEVICE_QEMU_PATCHED, 7 },
    { "tpmcrb_trap_sm8", VM_DEVICE_QEMU_PATCHED, 8 },
    { "tpmcrb_shm",      VM_DEVICE_SHM,          8 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct device_stats {
    bool valid;
    uint64_t commands, completed_sync;
};

struct bench_result {
    double tpm0, tpmrm0;                /* commands/s; 0 = not measured */
    uint64_t tpm0_n, tpmrm0_n;          /* guest commands in each loop */
    const char *qmp_path;               /* trap mode: QEMU's QMP socket */
    struct device_stats marks[NMARKS];
};

/* ------------------------------------------------------------------ QMP */

struct qmp {
    int fd;
    char buf[QMP_LINE];
    size_t len;
};

/* One line from QEMU that is not an event; false on EOF or overflow. */
static bool qmp_reply(struct qmp *q, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(q->buf, '\n', q->len);
        ssize_t n;

        if (nl) {
            size_t l = (size_t)(nl - q->buf);
            bool event = strstr(q->buf, "\"event\"") &&
                         strstr(q->buf, "\"event\"") < nl;

            if (l >= cap)
                return false;
            memcpy(line, q->buf, l);
            line[l] = '\0';
            memmove(q->buf, nl + 1, q->len - l - 1);
            q->len -= l + 1;
            if (!event)
                return true;
            continue;
        }
        if (q->len == sizeof(q->buf))
            return false;
        n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        q->len += (size_t)n;
    }
}

static bool qmp_command(struct qmp *q, const char *cmd, char *reply,
                        size_t cap)
{
    size_t len = strlen(cmd);

    return write(q->fd, cmd, len) == (ssize_t)len &&
           qmp_reply(q, reply, cap) && !strstr(reply, "\"error\"");
}

static bool qmp_open(struct qmp *q, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[QMP_LINE];

    q->len = 0;
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    strcpy(sa.sun_path, path);
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (q->fd < 0)
        return false;
    if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        qmp_reply(q, line, sizeof(line)) &&          /* greeting */
        qmp_command(q, "{\"execute\": \"qmp_capabilities\"}\n", line,
                    sizeof(line)))
        return true;
    close(q->fd);
    return false;
}

/* {"return": 123} */
static bool qom_get_u64(struct qmp *q, const char *prop, uint64_t *value)
{
    char cmd[256], reply[QMP_LINE];
    const char *r;

    snprintf(cmd, sizeof(cmd), "{\"execute\": \"qom-get\", \"arguments\": "
             "{\"path\": \"%s\", \"property\": \"%s\"}}\n",
             VM_PATCHED_QEMU_DEVICE_PATH, prop);
    if (!qmp_command(q, cmd, reply, sizeof(reply)) ||
        !(r = strstr(reply, "\"return\":")))
        return false;
    *value = strtoull(r + strlen("\"return\":"), NULL, 10);
    return true;
}

static void read_device_stats(const char *qmp_path, struct device_stats *st)
{
    struct qmp q;

    st->valid = false;
    if (!qmp_open(&q, qmp_path))
        return;
    st->valid = qom_get_u64(&q, "commands", &st->commands) &&
                qom_get_u64(&q, "completed-sync", &st->completed_sync);
    close(q.fd);
}

/* ------------------------------------------------------------ the runs */

/* "TPMLOOP dev=/dev/tpm0 commands=N seconds=S rate=R" */
static void parse_tpmloop(struct bench_result *r, const char *line)
{
    const char *dev = strstr(line, "dev=");
    const char *rate = strstr(line, "rate=");
    const char *n = strstr(line, "commands=");

    if (!dev || !rate || !n)
        return;
    if (!strncmp(dev + 4, "/dev/tpm0 ", 10)) {
        r->tpm0 = atof(rate + 5);
        r->tpm0_n = strtoull(n + 9, NULL, 10);
    } else if (!strncmp(dev + 4, "/dev/tpmrm0 ", 12)) {
        r->tpmrm0 = atof(rate + 5);
        r->tpmrm0_n = strtoull(n + 9, NULL, 10);
    }
}

static void on_line(void *opaque, const char *line)
{
    struct bench_result *r = opaque;
    const char *m;

    if (strstr(line, "TPMLOOP ")) {
        parse_tpmloop(r, line);
    } else if ((m = strstr(line, MARK)) && r->qmp_path) {
        unsigned i = (unsigned)atoi(m + strlen(MARK));

        if (i < NMARKS)
            read_device_stats(r->qmp_path, &r->marks[i]);
    }
}

/* The guest pauses after each mark, so that the statistics read while it
 * sleeps belong to one loop. A warm-up first: the first commands after
 * boot also pay for page faults and TCG translating the driver. */
static char *guest_script(unsigned seconds)
{
    char *s;

    if (asprintf(&s,
                 "tpmloop -n 200 /dev/tpm0 >/dev/null || exit 1\n"
                 "echo " MARK "0; sleep 1\n"
                 "tpmloop -t %u /dev/tpm0 || exit 1\n"
                 "echo " MARK "1; sleep 1\n"
                 "tpmloop -t %u /dev/tpmrm0 || exit 1\n"
                 "echo " MARK "2; sleep 1\n",
                 seconds, seconds) < 0)
        return NULL;
    return s;
}

static int run_config(const struct bench_config *c, const char *script,
                      const char *patched_qemu, bool verbose,
                      struct bench_result *r)
{
    char tmpl[] = "/tmp/tpmcrb-bench-qemu.XXXXXX", qmp_path[64], qmp_arg[96];
    char *extra[2] = { "-qmp", qmp_arg };
    struct vm_options o;
    struct vm_result vr;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    vm_options_init(&o);
    o.device = c->device;
    o.start_method = c->start_method;
    o.script = script;
    o.console_fd = verbose ? STDERR_FILENO : -1;
    o.on_line = on_line;
    o.opaque = r;
    if (c->device == VM_DEVICE_QEMU_PATCHED) {
        if (!mkdtemp(tmpl)) {
            perror("bench qemu: mkdtemp");
            return -1;
        }
        snprintf(qmp_path, sizeof(qmp_path), "%s/qmp.sock", tmpl);
        snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off",
                 qmp_path);
        o.qemu = patched_qemu;
        o.extra_args = extra;
        o.n_extra = 2;
        r->qmp_path = qmp_path;
    }
    fprintf(stderr, "bench qemu: %s ...\n", c->name);
    if (vm_run(&o, &vr) < 0 || vr.signal) {
        rc = vr.signal ? -2 : -1;
    } else if (vr.guest_exit != 0 || r->tpm0 <= 0 || r->tpmrm0 <= 0) {
        fprintf(stderr, "bench qemu: %s: the guest loop failed (exit %d)%s\n",
                c->name, vr.guest_exit,
                verbose ? "" : "; --verbose shows the console");
        rc = -1;
    }
    if (r->qmp_path) {
        unlink(qmp_path);
        rmdir(tmpl);
        r->qmp_path = NULL;
    }
    return rc;
}

/* TPM commands the device ran per guest command between two marks (the
 * resource manager behind /dev/tpmrm0 adds its own); negative when not
 * measured. */
static double device_per_guest(const struct device_stats *a,
                               const struct device_stats *b, uint64_t n)
{
    if (!a->valid || !b->valid || !n || b->commands < a->commands)
        return -1;
    return (double)(b->commands - a->commands) / (double)n;
}

/* Percentage of the commands between two marks that completed inside
 * their START write; negative when not measured. */
static double sync_pct(const struct device_stats *a,
                       const struct device_stats *b)
{
    if (!a->valid || !b->valid || b->commands <= a->commands)
        return -1;
    return 100.0 * (double)(b->completed_sync - a->completed_sync) /
           (double)(b->commands - a->commands);
}

/* The host's one-minute load average, or -1. */
static double loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "re");
    double l = -1;

    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static void print_results(const struct bench_result res[NCONFIGS],
                          const bool ok[NCONFIGS], double load_at_start)
{
    const struct bench_result *stock = ok[0] ? &res[0] : NULL;

    printf("BENCH qemu.host_cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    /* Spinning hand-offs need idle cores: say how busy the host was. */
    if (load_at_start >= 0)
        printf("BENCH qemu.host_loadavg_1min_at_start=%.2f\n", load_at_start);
    for (size_t i = 0; i < NCONFIGS; i++) {
        const char *n = configs[i].name;
        const struct bench_result *r = &res[i];
        double pct;

        if (!ok[i])
            continue;
        printf("BENCH qemu.%s.tpm0_commands_per_s=%.0f\n", n, r->tpm0);
        printf("BENCH qemu.%s.tpmrm0_commands_per_s=%.0f\n", n, r->tpmrm0);
        if (stock && r != stock) {
            printf("BENCH qemu.%s.tpm0_ratio_to_qemu_stock=%.1f\n", n,
                   r->tpm0 / stock->tpm0);
            printf("BENCH qemu.%s.tpmrm0_ratio_to_qemu_stock=%.1f\n", n,
                   r->tpmrm0 / stock->tpmrm0);
        }
        if ((pct = sync_pct(&r->marks[0], &r->marks[1])) >= 0)
            printf("BENCH qemu.%s.tpm0_answered_before_first_status_read_pct=%.2f\n",
                   n, pct);
        if ((pct = sync_pct(&r->marks[1], &r->marks[2])) >= 0)
            printf("BENCH qemu.%s.tpmrm0_answered_before_first_status_read_pct=%.2f\n",
                   n, pct);
        if ((pct = device_per_guest(&r->marks[0], &r->marks[1], r->tpm0_n)) >= 0)
            printf("BENCH qemu.%s.tpm0_tpm_commands_per_guest_command=%.2f\n",
                   n, pct);
        if ((pct = device_per_guest(&r->marks[1], &r->marks[2], r->tpmrm0_n)) >= 0)
            printf("BENCH qemu.%s.tpmrm0_tpm_commands_per_guest_command=%.2f\n",
                   n, pct);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench qemu [--seconds N] [--only NAME[,NAME...]] [--verbose]\n"
"  --seconds N  length of each guest loop (default 5)\n"
"  --only LIST  run only these of:");
    for (size_t i = 0; i < NCONFIGS; i++)
        fprintf(out, " %s", configs[i].name);
    fprintf(out, "\n"
"  --verbose    copy the guest consoles to stderr\n"
"The patched QEMU comes from $TPMCRB_QEMU_PATCHED or tools/build-qemu.\n");
}

static bool selected(const char *only, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = only; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == n && !strncmp(p, name, n))
            return true;
        p = end ? end + 1 : NULL;
    }
    return !only;
}

int bench_qemu(int argc, char **argv)
{
    static const struct option opts[] = {
        { "seconds", required_argument, NULL, 's' },
        { "only", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct bench_result res[NCONFIGS];
    bool ok[NCONFIGS] = { false }, verbose = false, all_ok = true;
    const char *only = NULL;
    char *script, *patched = NULL;
    unsigned seconds = 5;
    double load_at_start;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': seconds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'o': only = optarg; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || !seconds || seconds > 600) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!(script = guest_script(seconds)))
        return EXIT_RUNTIME;
    load_at_start = loadavg();
    for (size_t i = 0; i < NCONFIGS; i++) {
        int rc;

        if (!selected(only, configs[i].name))
            continue;
        if (configs[i].device == VM_DEVICE_QEMU_PATCHED && !patched &&
            !(patched = vm_patched_qemu_binary())) {
            all_ok = false;
            continue;
        }
        rc = run_config(&configs[i], script, patched, verbose, &res[i]);
        ok[i] = rc == 0;
        all_ok &= ok[i];
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    free(script);
    free(patched);
    print_results(res, ok, load_at_start);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
