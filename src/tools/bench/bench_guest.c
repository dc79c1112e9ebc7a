/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/bench/bench_guest.h"
#include "tools/bench/bench_load.h"
#include "tools/tool.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 600

enum { OPT_SECONDS = 256, OPT_IDLE, OPT_ONLY, OPT_VERBOSE, OPT_HELP,
       OPT_LOAD, OPT_LOOPS };

/* Every option a guest benchmark may take, and which flag lets it in. */
static const struct {
    struct option opt;
    unsigned needs;     /* BENCH_TAKES_*; 0: every benchmark */
} all_opts[] = {
    { { "seconds", required_argument, NULL, OPT_SECONDS }, 0 },
    { { "idle", required_argument, NULL, OPT_IDLE }, BENCH_TAKES_IDLE },
    { { "only", required_argument, NULL, OPT_ONLY }, BENCH_TAKES_ONLY },
    { { "verbose", no_argument, NULL, OPT_VERBOSE }, 0 },
    { { "load", required_argument, NULL, OPT_LOAD }, BENCH_TAKES_LOAD },
    { { "loops", required_argument, NULL, OPT_LOOPS }, BENCH_TAKES_LOAD },
    { { "help", no_argument, NULL, OPT_HELP }, 0 },
};
#define NOPTS (sizeof(all_opts) / sizeof(all_opts[0]))

/* One option into @a; false on a bad value. */
static bool apply_option(struct bench_args *a, int opt, const char *arg)
{
    switch (opt) {
    case OPT_SECONDS:
        return parse_unsigned(arg, 1, MAX_SECONDS, &a->seconds);
    case OPT_IDLE:
        return parse_unsigned(arg, 1, MAX_SECONDS, &a->idle);
    case OPT_ONLY:
        a->only = arg;
        return true;
    case OPT_VERBOSE:
        a->verbose = true;
        return true;
    case OPT_LOAD:
        return parse_unsigned(arg, 0, BENCH_MAX_LOAD, &a->load);
    case OPT_LOOPS:
        return parse_unsigned(arg, 1, BENCH_MAX_LOOPS, &a->loops);
    default:
        return false;
    }
}

int bench_parse_args(int argc, char **argv, unsigned takes,
                     void (*usage)(FILE *out), struct bench_args *a)
{
    struct option opts[NOPTS + 1];
    size_t n = 0;
    int opt;

    /* getopt then rejects, in its own words, what this benchmark lacks. */
    for (size_t i = 0; i < NOPTS; i++)
        if ((all_opts[i].needs & takes) == all_opts[i].needs)
            opts[n++] = all_opts[i].opt;
    memset(&opts[n], 0, sizeof(opts[n]));
    *a = (struct bench_args){ .seconds = 5, .idle = 5, .loops = 1 };
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h' || opt == OPT_HELP) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!apply_option(a, opt, optarg)) {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

char *bench_guest_script(unsigned seconds, bool latency,
                         const char *const after[3])
{
    return bench_guest_script_loops(seconds, 1, latency, after);
}

/* @loops tpmloop runs on @dev, or NULL. */
static char *loop_lines(unsigned loops, const char *l, unsigned seconds,
                        const char *dev)
{
    char *s = strdup(""), *t;

    for (unsigned i = 0; s && i < loops; i++) {
        if (asprintf(&t, "%stpmloop %s-t %u %s || exit 1\n", s, l, seconds,
                     dev) < 0)
            t = NULL;
        free(s);
        s = t;
    }
    return s;
}

char *bench_guest_script_loops(unsigned seconds, unsigned loops, bool latency,
                               const char *const after[3])
{
    static const char *const nothing[3] = { NULL, NULL, NULL };
    const char *l = latency ? "-l " : "";
    char *tpm0 = loop_lines(loops, l, seconds, "/dev/tpm0");
    char *tpmrm0 = loop_lines(loops, l, seconds, "/dev/tpmrm0");
    char *s = NULL;

    if (!after)
        after = nothing;

    /* A warm-up first: the first commands after boot also pay for page
     * faults and TCG translating the driver's code. */
    if (tpm0 && tpmrm0 &&
        asprintf(&s,
                 "tpmloop -n 200 /dev/tpm0 >/dev/null || exit 1\n%s%s%s%s%s",
                 or_empty(after[0]), tpm0, or_empty(after[1]), tpmrm0,
                 or_empty(after[2])) < 0)
        s = NULL;
    free(tpm0);
    free(tpmrm0);
    return s;
}

/* Where @key's value starts in @line, or NULL. */
static const char *value_of(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    return p ? p + strlen(key) : NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
    double s[BENCH_MAX_LOOPS];

    memcpy(s, v, n * sizeof(*v));
    qsort(s, n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double worst(const struct bench_loop *l)
{
    double w = l->rates[0];

    for (unsigned i = 1; i < l->n; i++)
        if (l->rates[i] < w)
            w = l->rates[i];
    return w;
}

bool bench_parse_tpmloop(struct bench_loops *r, const char *line)
{
    const char *p = strstr(line, "TPMLOOP ");
    const char *dev, *rate, *commands, *p50;
    struct bench_loop *loop;

    if (!p)
        return false;
    dev = value_of(p, "dev=");
    rate = value_of(p, "rate=");
    commands = value_of(p, "commands=");
    p50 = value_of(p, "p50_us=");
    if (!dev || !rate)
        return true;
    if (!strncmp(dev, "/dev/tpm0 ", 10))
        loop = &r->tpm0;
    else if (!strncmp(dev, "/dev/tpmrm0 ", 12))
        loop = &r->tpmrm0;
    else
        return true;
    if (loop->n < BENCH_MAX_LOOPS)
        loop->rates[loop->n++] = atof(rate);
    loop->rate = median(loop->rates, loop->n);
    loop->commands += commands ? strtoull(commands, NULL, 10) : 0;
    loop->p50_us = p50 ? atof(p50) : 0;
    return true;
}

void bench_vm_options(struct vm_options *o, const struct bench_config *c,
                      const char *script,
                      void (*on_line)(void *opaque, const char *line),
                      void *opaque)
{
    vm_options_init(o);
    o->device = c->device;
    o->start_method = c->start_method;
    o->script = script;
    o->on_line = on_line;
    o->opaque = opaque;
}

int bench_run_guest(const char *bench, const char *name, struct vm_options *o,
                    bool verbose, struct bench_loops *r)
{
    struct vm_result vr;
    double start;

    o->console_fd = verbose ? STDERR_FILENO : -1;
    fprintf(stderr, "bench %s: %s ...\n", bench, name);
    start = bench_now();
    if (vm_run(o, &vr) < 0 || vr.signal)
        return vr.signal ? -2 : -1;
    r->run_seconds = bench_now() - start;
    if (vr.guest_exit != 0 || r->tpm0.rate <= 0 || r->tpmrm0.rate <= 0) {
        fprintf(stderr, "bench %s: %s: the guest loop failed (exit %d)%s\n",
                bench, name, vr.guest_exit,
                verbose ? "" : "; --verbose shows the console");
        return -1;
    }
    return 0;
}

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_host_load(void)
{
    double load = -1;

    getloadavg(&load, 1);
    return load;
}

void bench_print(const char *bench, const char *name, const char *key,
                 int digits, double value)
{
    printf("BENCH %s.%s%s%s=%.*f\n", bench, name ? name : "",
           name ? "." : "", key, digits, value);
}

void bench_print_host_cpus(const char *bench)
{
    bench_print(bench, NULL, "host_cpus", 0,
                (double)sysconf(_SC_NPROCESSORS_ONLN));
}

/* Each loop of a node with more than one, and the worst. */
static void print_loops(const char *bench, const char *name, const char *node,
                        const struct bench_loop *l)
{
    char key[64];

    if (l->n < 2)
        return;
    for (unsigned i = 0; i < l->n; i++) {
        snprintf(key, sizeof(key), "%s_loop%u_commands_per_s", node, i + 1);
        bench_print(bench, name, key, 0, l->rates[i]);
    }
    snprintf(key, sizeof(key), "%s_worst_loop_commands_per_s", node);
    bench_print(bench, name, key, 0, worst(l));
}

void bench_print_rates(const char *bench, const char *name,
                       const struct bench_loops *r)
{
    bench_print(bench, name, "tpm0_commands_per_s", 0, r->tpm0.rate);
    bench_print(bench, name, "tpmrm0_commands_per_s", 0, r->tpmrm0.rate);
    print_loops(bench, name, "tpm0", &r->tpm0);
    print_loops(bench, name, "tpmrm0", &r->tpmrm0);
}

void bench_print_ratios(const char *bench, const char *name,
                        const struct bench_loops *r,
                        const struct bench_loops *ref, const char *ref_name,
                        int digits)
{
    char key[96];

    snprintf(key, sizeof(key), "tpm0_ratio_to_%s", ref_name);
    bench_print(bench, name, key, digits, r->tpm0.rate / ref->tpm0.rate);
    snprintf(key, sizeof(key), "tpmrm0_ratio_to_%s", ref_name);
    bench_print(bench, name, key, digits, r->tpmrm0.rate / ref->tpmrm0.rate);
    if (r->tpm0.n < 2)
        return;
    snprintf(key, sizeof(key), "tpm0_worst_loop_ratio_to_%s_median", ref_name);
    bench_print(bench, name, key, digits, worst(&r->tpm0) / ref->tpm0.rate);
    snprintf(key, sizeof(key), "tpmrm0_worst_loop_ratio_to_%s_median", ref_name);
    bench_print(bench, name, key, digits, worst(&r->tpmrm0) / ref->tpmrm0.rate);
}
