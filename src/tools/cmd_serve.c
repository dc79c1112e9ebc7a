/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb serve`: the poll transport on a shared memory file that another
 * process (QEMU with memory-backend-file,share=on) maps as guest RAM. Runs
 * until SIGINT/SIGTERM, then powers the TPM off so its state is saved.
 */
#include "tools/commands.h"
#include "tpmcrb.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct serve_options {
    const char *shm, *backend, *state_dir, *acpi_dir;
    uint64_t offset;
    bool offset_set;
    struct tpmcrb_config cfg;
    unsigned start_method;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb serve --shm FILE [OPTIONS]\n"
"Serve a TPM CRB device in FILE, a shared memory file that a VMM maps as\n"
"guest RAM, until SIGINT or SIGTERM.\n"
"\n"
"  --shm FILE           the shared memory file (e.g. /dev/shm/vm1)\n"
"  --base ADDR          guest-physical base of the device (default 0xFED40000)\n"
"  --offset OFF         file offset of the device (default: same as --base)\n"
"  --layout split|compat  buffer in its own page (default) or at 0x80\n"
"  --localities 1|5     localities advertised (default 5)\n"
"  --backend SPEC       libtpms (default), swtpm, passthrough:/dev/tpmrm0\n"
"  --state DIR          keep the TPM state in DIR\n"
"  --acpi DIR           also write tpm2.aml and ssdt.aml for it into DIR\n"
"  --start-method 7|8   start method of those tables (default 8)\n"
"  --trace              log decoded register accesses and TPM commands\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 0);
    return *s && !*end && !errno;
}

static bool apply_option(struct serve_options *o, int opt, const char *arg)
{
    uint64_t v;

    switch (opt) {
    case 's': o->shm = arg; return true;
    case 'b': return parse_u64(arg, &o->cfg.base);
    case 'o': return (o->offset_set = parse_u64(arg, &o->offset));
    case 'B': o->backend = arg; return true;
    case 'S': o->state_dir = arg; return true;
    case 'a': o->acpi_dir = arg; return true;
    case 't': tpmcrb_log_set(TPMCRB_LOG_TRACE, NULL, NULL); return true;
    case 'm':
        if (!parse_u64(arg, &v) || (v != 7 && v != 8))
            return false;
        o->start_method = (unsigned)v;
        return true;
    case 'n':
        if (!parse_u64(arg, &v) || (v != 1 && v != 5))
            return false;
        o->cfg.localities = (unsigned)v;
        return true;
    case 'l':
        if (!strcmp(arg, "split"))
            o->cfg.layout = TPMCRB_LAYOUT_SPLIT;
        else if (!strcmp(arg, "compat"))
            o->cfg.layout = TPMCRB_LAYOUT_COMPAT;
        else
            return false;
        return true;
    default:
        return false;
    }
}

static int parse(struct serve_options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "shm", required_argument, NULL, 's' },
        { "base", required_argument, NULL, 'b' },
        { "offset", required_argument, NULL, 'o' },
        { "layout", required_argument, NULL, 'l' },
        { "localities", required_argument, NULL, 'n' },
        { "backend", required_argument, NULL, 'B' },
        { "state", required_argument, NULL, 'S' },
        { "acpi", required_argument, NULL, 'a' },
        { "start-method", required_argument, NULL, 'm' },
        { "trace", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    memset(o, 0, sizeof(*o));
    tpmcrb_config_init(&o->cfg);
    o->cfg.sync_bound_us = 0; /* nothing waits in a write in poll mode */
    o->start_method = 8;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == '?' || !apply_option(o, opt, optarg)) {
            if (opt != '?')
                fprintf(stderr, "tpmcrb serve: bad value '%s'\n", optarg);
            return EXIT_USAGE;
        }
    }
    if (!o->shm || optind != argc) {
        fprintf(stderr, "tpmcrb serve: --shm FILE is required, and nothing else\n");
        return EXIT_USAGE;
    }
    if (!o->offset_set)
        o->offset = o->cfg.base;
    /* Guests of start method 8 tables never request a locality. */
    o->cfg.locality0_at_reset = o->acpi_dir && o->start_method == 8;
    return 0;
}

/* Map the device window of the file; NULL after a message. */
static uint8_t *map_window(const struct serve_options *o, size_t *len)
{
    uint64_t size = tpmcrb_window_size(&o->cfg);
    struct stat st;
    uint8_t *p;
    int fd = open(o->shm, O_RDWR | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "tpmcrb serve: %s: %s\n", o->shm, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (o->offset % TPMCRB_PAGE_SIZE || o->offset > (uint64_t)st.st_size ||
        size > (uint64_t)st.st_size - o->offset) {
        fprintf(stderr, "tpmcrb serve: %s: the device window (%#llx bytes at "
                "offset %#llx) is not page aligned or not inside the file "
                "(%lld bytes)\n", o->shm, (unsigned long long)size,
                (unsigned long long)o->offset, (long long)st.st_size);
        close(fd);
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)o->offset);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "tpmcrb serve: mmap %s: %s\n", o->shm, strerror(errno));
        return NULL;
    }
    *len = size;
    return p;
}

static int write_file(const char *dir, const char *name, const uint8_t *data,
                      size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wbe");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "tpmcrb serve: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_acpi(const struct serve_options *o)
{
    struct tpmcrb_acpi_options ao;
    uint8_t *tpm2, *ssdt;
    size_t tpm2_len, ssdt_len;
    int err;

    tpmcrb_acpi_options_init(&ao);
    ao.base = o->cfg.base;
    ao.layout = o->cfg.layout;
    ao.localities = o->cfg.localities;
    ao.start_method = o->start_method;
    if (tpmcrb_acpi_build(&ao, &tpm2, &tpm2_len, &ssdt, &ssdt_len) < 0)
        return -1;
    err = write_file(o->acpi_dir, "tpm2.aml", tpm2, tpm2_len);
    if (!err)
        err = write_file(o->acpi_dir, "ssdt.aml", ssdt, ssdt_len);
    free(tpm2);
    free(ssdt);
    return err;
}

static void wait_for_signal(void)
{
    struct sigaction sa = { .sa_handler = on_signal };

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop_signal)
        pause();
}

int cmd_serve(int argc, char **argv)
{
    struct tpmcrb_backend_options bo = { 0 };
    struct serve_options o;
    struct tpmcrb_backend *be = NULL;
    struct tpmcrb_device *dev = NULL;
    struct tpmcrb_poller *poller = NULL;
    size_t len = 0;
    uint8_t *win;
    int rc = parse(&o, argc, argv);

    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (o.acpi_dir && write_acpi(&o) < 0)
        return EXIT_RUNTIME;
    if (!(win = map_window(&o, &len)))
        return EXIT_RUNTIME;
    o.cfg.regs_mem = win;
    o.cfg.buffer_mem = win + tpmcrb_regs_size(&o.cfg);
    bo.state_dir = o.state_dir;
    rc = EXIT_RUNTIME;
    if (tpmcrb_backend_open(o.backend, &bo, &be) < 0 ||
        tpmcrb_device_new(&o.cfg, be, &dev) < 0 ||
        tpmcrb_poller_start(dev, &poller) < 0)
        goto out;
    fprintf(stderr, "tpmcrb serve: device at %#llx (%s layout, %u localities) "
            "in %s\n", (unsigned long long)o.cfg.base,
            o.cfg.layout == TPMCRB_LAYOUT_SPLIT ? "split" : "compat",
            o.cfg.localities, o.shm);
    wait_for_signal();
    rc = EXIT_OK;
out:
    tpmcrb_poller_stop(poller);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(be);
    munmap(win, len);
    return rc;
}
