/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb bench qemu` (docs/design.md, "Tests and benchmarks"): guest TPM2_GetRandom(32) throughput through
 * /dev/tpm0 and /dev/tpmrm0, same kernel, same initramfs, one run, every
 * TPM a swtpm but one, on three builds of one QEMU 10 source
 * (integrations/qemu/build-qemu, --embedded-libtpms and --stock):
 *   qemu_stock         QEMU's tpm-crb on -tpmdev emulator (the command runs
 *                      asynchronously in QEMU's thread pool)
 *   tpmcrb_trap        the patched tpm-crb on the same -tpmdev, same
 *                      command line: ROM-device trap mode, compat layout
 *                      (the drop-in), TPM2 start method 7
 *   tpmcrb_trap_libtpms the same device in the series' off-by-default
 *                      build with libtpms inside QEMU (build-qemu
 *                      --embedded-libtpms, libtpms-state=DIR, no swtpm):
 *                      quick commands run on the vCPU thread that
 *                      writes START
 *   tpmcrb_trap_libtpms_split  the same with layout=split,localities=5
 *   tpmcrb_trap_split  the same with layout=split,localities=5 (opt-in)
 *   tpmcrb_shm         `tpmcrb vm`'s shared-memory poll mode on the stock
 *                      build, libtpmcrb's own swtpm backend, start method 8
 * For trap mode it also reports the share of commands answered before the
 * guest's first status read: those the device completed inside the START
 * write itself (libtpmcrb's completed_sync), read from the device's QOM
 * properties over QMP before and after each loop.
 */
#include "tools/bench/bench.h"
#include "tools/bench/bench_guest.h"
#include "tools/bench/bench_load.h"
#include "tools/tool.h"
#include "tools/vm/vm.h"
#include "tools/vm/vm_patched_qemu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BENCH      "qemu"
#define MARK       "TPMCRB-BENCH-MARK "
#define NMARKS     3   /* before the /dev/tpm0 loop, between, after */
#define QMP_LINE   4096

static const struct bench_config configs[] = {
    { .name = "qemu_stock", .device = VM_DEVICE_QEMU_STOCK, .start_method = 7 },
    { .name = "tpmcrb_trap", .device = VM_DEVICE_QEMU_PATCHED, .start_method = 7 },
    { .name = "tpmcrb_trap_libtpms", .device = VM_DEVICE_QEMU_PATCHED,
      .start_method = 7, .embedded_libtpms = true },
    { .name = "tpmcrb_trap_libtpms_split", .device = VM_DEVICE_QEMU_PATCHED,
      .start_method = 7, .embedded_libtpms = true, .split_layout = true },
    { .name = "tpmcrb_trap_split", .device = VM_DEVICE_QEMU_PATCHED,
      .start_method = 7, .split_layout = true },
    { .name = "tpmcrb_shm", .device = VM_DEVICE_SHM, .start_method = 8 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct device_stats {
    bool valid;
    uint64_t commands, completed_sync;
};

struct bench_result {
    struct bench_loops loops;
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

static void on_line(void *opaque, const char *line)
{
    struct bench_result *r = opaque;
    const char *m;

    if (bench_parse_tpmloop(&r->loops, line))
        return;
    if ((m = strstr(line, MARK)) && r->qmp_path) {
        unsigned i = (unsigned)atoi(m + strlen(MARK));

        if (i < NMARKS)
            read_device_stats(r->qmp_path, &r->marks[i]);
    }
}

/* The guest pauses after each mark, so that the statistics read while it
 * sleeps belong to one loop. */
static char *guest_script(unsigned seconds, unsigned loops)
{
    static const char *const marks[NMARKS] = {
        "echo " MARK "0; sleep 1\n",
        "echo " MARK "1; sleep 1\n",
        "echo " MARK "2; sleep 1\n",
    };

    return bench_guest_script_loops(seconds, loops, false, marks);
}

/* Trap mode's QMP socket, in a fresh directory, for the statistics. */
struct qmp_socket {
    char dir[32], path[64], arg[96];
    char *extra[2];
};

static bool qmp_socket_add(struct qmp_socket *s, struct vm_options *o)
{
    strcpy(s->dir, "/tmp/tpmcrb-bench-qemu.XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("bench qemu: mkdtemp");
        return false;
    }
    snprintf(s->path, sizeof(s->path), "%s/qmp.sock", s->dir);
    snprintf(s->arg, sizeof(s->arg), "unix:%s,server=on,wait=off", s->path);
    s->extra[0] = "-qmp";
    s->extra[1] = s->arg;
    o->extra_args = s->extra;
    o->n_extra = 2;
    return true;
}

static void qmp_socket_remove(struct qmp_socket *s)
{
    unlink(s->path);
    rmdir(s->dir);
}

static int run_config(const struct bench_config *c, const char *script,
                      const char *patched_qemu, const char *embedded_qemu,
                      const char *stock_qemu, bool verbose,
                      struct bench_result *r)
{
    struct qmp_socket qmp;
    struct vm_options o;
    int rc;

    memset(r, 0, sizeof(*r));
    bench_vm_options(&o, c, script, on_line, r);
    o.qemu = stock_qemu;
    if (c->device == VM_DEVICE_SHM)
        o.backend = "swtpm";
    if (c->device == VM_DEVICE_QEMU_PATCHED) {
        if (!qmp_socket_add(&qmp, &o))
            return -1;
        o.qemu = patched_qemu;
        if (c->embedded_libtpms) {
            o.qemu = embedded_qemu;
            o.embedded_libtpms = true;
        }
        r->qmp_path = qmp.path;
        /* The drop-in layout unless the configuration asks for split. */
        if (!c->split_layout) {
            o.layout = TPMCRB_LAYOUT_COMPAT;
            o.localities = 1;
        }
    }
    rc = bench_run_guest(BENCH, c->name, &o, verbose, &r->loops);
    if (r->qmp_path) {
        qmp_socket_remove(&qmp);
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

/* Trap mode's statistics between the marks around each loop. */
static void print_device_stats(const char *n, const struct bench_result *r)
{
    const struct device_stats *m = r->marks;
    double v;

    if ((v = sync_pct(&m[0], &m[1])) >= 0)
        bench_print(BENCH, n, "tpm0_answered_before_first_status_read_pct", 2, v);
    if ((v = sync_pct(&m[1], &m[2])) >= 0)
        bench_print(BENCH, n, "tpmrm0_answered_before_first_status_read_pct", 2, v);
    if ((v = device_per_guest(&m[0], &m[1], r->loops.tpm0.commands)) >= 0)
        bench_print(BENCH, n, "tpm0_tpm_commands_per_guest_command", 2, v);
    if ((v = device_per_guest(&m[1], &m[2], r->loops.tpmrm0.commands)) >= 0)
        bench_print(BENCH, n, "tpmrm0_tpm_commands_per_guest_command", 2, v);
}

static void print_results(const struct bench_result res[NCONFIGS],
                          const bool ok[NCONFIGS], double load_at_start,
                          unsigned busy_loops)
{
    const struct bench_result *stock = ok[0] ? &res[0] : NULL;

    bench_print_host_cpus(BENCH);
    /* Spinning hand-offs need idle cores: say how busy the host was. */
    if (load_at_start >= 0)
        bench_print(BENCH, NULL, "host_loadavg_1min_at_start", 2, load_at_start);
    bench_print(BENCH, NULL, "busy_loops", 0, busy_loops);
    for (size_t i = 0; i < NCONFIGS; i++) {
        const char *n = configs[i].name;
        const struct bench_result *r = &res[i];

        if (!ok[i])
            continue;
        bench_print_rates(BENCH, n, &r->loops);
        if (stock && r != stock)
            bench_print_ratios(BENCH, n, &r->loops, &stock->loops,
                               "qemu_stock", 1);
        print_device_stats(n, r);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb bench qemu [--seconds N] [--loops N] [--load N]\n"
"                         [--only NAME[,NAME...]] [--verbose]\n"
"  --seconds N  length of each guest loop (default 5)\n"
"  --loops N    guest loops per device node, each reported (default 1)\n"
"  --load N     N busy loops on the host meanwhile, one pinned per CPU in turn\n"
"  --only LIST  run only these of:");
    for (size_t i = 0; i < NCONFIGS; i++)
        fprintf(out, " %s", configs[i].name);
    fprintf(out, "\n"
"  --verbose    copy the guest consoles to stderr\n"
"The QEMUs come from integrations/qemu/build-qemu [--stock|--embedded-libtpms]\n"
"(or $TPMCRB_QEMU_PATCHED, $TPMCRB_QEMU_STOCK and $TPMCRB_QEMU_EMBEDDED).\n");
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
    struct bench_result res[NCONFIGS];
    bool ok[NCONFIGS] = { false }, all_ok = true;
    struct bench_args a;
    char *script, *patched = NULL, *embedded = NULL, *stock = NULL;
    double load_at_start;
    struct bench_load load;
    int rc = bench_parse_args(argc, argv, BENCH_TAKES_ONLY | BENCH_TAKES_LOAD,
                              usage, &a);

    if (rc >= 0)
        return rc;
    if (!(script = guest_script(a.seconds, a.loops)))
        return EXIT_RUNTIME;
    load_at_start = bench_host_load();
    if (!bench_load_start(&load, a.load)) {
        free(script);
        return EXIT_RUNTIME;
    }
    for (size_t i = 0; i < NCONFIGS; i++) {
        if (!selected(a.only, configs[i].name))
            continue;
        if (configs[i].embedded_libtpms) {
            if (!embedded && !(embedded = vm_embedded_qemu_binary())) {
                all_ok = false;
                continue;
            }
        } else if (configs[i].device == VM_DEVICE_QEMU_PATCHED && !patched &&
                   !(patched = vm_patched_qemu_binary())) {
            all_ok = false;
            continue;
        }
        if (configs[i].device != VM_DEVICE_QEMU_PATCHED && !stock &&
            !(stock = vm_stock_qemu_binary())) {
            all_ok = false;
            continue;
        }
        rc = run_config(&configs[i], script, patched, embedded, stock,
                        a.verbose, &res[i]);
        ok[i] = rc == 0;
        all_ok &= ok[i];
        if (rc == -2)
            break; /* interrupted: report what we have */
    }
    bench_load_stop(&load);
    free(script);
    free(patched);
    free(embedded);
    free(stock);
    print_results(res, ok, load_at_start, a.load);
    return all_ok ? EXIT_OK : EXIT_RUNTIME;
}
