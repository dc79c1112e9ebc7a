/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb serve`: the poll transport on a shared memory file that another
 * process (QEMU with memory-backend-file,share=on) maps as guest RAM. Runs
 * until SIGINT/SIGTERM, then powers the TPM off so its state is saved.
 */
#include "tools/tool.h"

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
    struct device_options dev;
    const char *shm, *acpi_dir, *hub;
    uint64_t offset;
    bool offset_set;
    struct tpmcrb_config cfg;   /* from dev, once all options are read */
};

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
"  --key file=PATH[,format=hex|binary]  encrypt the state (AES-256-GCM)\n"
"  --acpi DIR           also write tpm2.aml and ssdt.aml for it into DIR\n"
"  --hub SOCKET         while idle, let the idle hub at SOCKET watch the\n"
"                       device (tpmcrb serve-hub) instead of polling\n"
"  --start-method 7|8   start method of those tables (default 8)\n"
"  --trace              log decoded register accesses and TPM commands\n");
    tool_log_usage(out);
}

/* One option into @o; false after saying what was wrong. */
static bool apply_option(struct serve_options *o, int opt, const char *arg)
{
    enum device_option_result r = device_option_take(&o->dev, opt,
                                                     arg);

    if (r != DEVOPT_NOT_MINE)
        return r == DEVOPT_OK;
    switch (opt) {
    case 's': o->shm = arg; return true;
    case 'a': o->acpi_dir = arg; return true;
    case 'H': o->hub = arg; return true;
    case 'o':
        if ((o->offset_set = parse_u64(arg, &o->offset)))
            return true;
        LOG_ERROR("bad value '%s'", arg);
        return false;
    default: /* getopt has said what was wrong */
        return false;
    }
}

static int parse(struct serve_options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "shm", required_argument, NULL, 's' },
        { "offset", required_argument, NULL, 'o' },
        { "acpi", required_argument, NULL, 'a' },
        { "hub", required_argument, NULL, 'H' },
        DEVICE_OPTION_BASE,
        DEVICE_OPTIONS_INTERFACE,
        DEVICE_OPTIONS_BACKEND,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    memset(o, 0, sizeof(*o));
    device_options_init(&o->dev);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (!apply_option(o, opt, optarg))
            return EXIT_USAGE;
    }
    if (!o->shm || optind != argc) {
        LOG_ERROR("--shm FILE is required, and nothing else");
        return EXIT_USAGE;
    }
    device_options_config(&o->dev, &o->cfg);
    o->cfg.sync_bound_us = 0; /* nothing waits in a write in poll mode */
    if (!o->offset_set)
        o->offset = o->cfg.base;
    /* Guests of start method 8 tables never request a locality. */
    o->cfg.locality0_at_reset = o->acpi_dir && o->dev.start_method == TPMCRB_START_METHOD_CRB_ACPI;
    return 0;
}

/* Map the device window of the file, which stays open in *@fd (the idle
 * hub maps it too); NULL after a message. */
static uint8_t *map_window(const struct serve_options *o, size_t *len, int *fd_out)
{
    uint64_t size = tpmcrb_window_size(&o->cfg);
    struct stat st;
    uint8_t *p;
    int fd = open(o->shm, O_RDWR | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        LOG_ERROR("%s: %s", o->shm, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (o->offset % TPMCRB_PAGE_SIZE || o->offset > (uint64_t)st.st_size ||
        size > (uint64_t)st.st_size - o->offset) {
        LOG_ERROR("%s: the device window (%#llx bytes at "
                "offset %#llx) is not page aligned or not inside the file "
                "(%lld bytes)", o->shm, (unsigned long long)size,
                (unsigned long long)o->offset, (long long)st.st_size);
        close(fd);
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)o->offset);
    if (p == MAP_FAILED) {
        LOG_ERROR("mmap %s: %s", o->shm, strerror(errno));
        close(fd);
        return NULL;
    }
    *len = size;
    *fd_out = fd;
    return p;
}

static int write_acpi(const struct serve_options *o)
{
    struct tpmcrb_acpi_options ao;

    tpmcrb_acpi_options_init(&ao);
    device_options_acpi(&o->dev, &ao);
    return acpi_write_tables(&ao, o->acpi_dir, false);
}

int cmd_serve(int argc, char **argv)
{
    struct tpmcrb_backend_options bo = { .size = sizeof(bo) };
    struct tpmcrb_poll_options po = { .size = sizeof(po) };
    struct serve_options o;
    struct tpmcrb_backend *be = NULL;
    struct tpmcrb_device *dev = NULL;
    struct tpmcrb_poller *poller = NULL;
    size_t len = 0;
    uint8_t *win;
    int fd = -1, sig;
    int rc = parse(&o, argc, argv);

    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    /* Before any thread starts and before the device is announced: a stop
     * signal sent from then on waits for the wait below. */
    if (tool_block_stop_signals() < 0)
        return EXIT_RUNTIME;
    if (o.acpi_dir && write_acpi(&o) != EXIT_OK)
        return EXIT_RUNTIME;
    if (!(win = map_window(&o, &len, &fd)))
        return EXIT_RUNTIME;
    o.cfg.regs_mem = win;
    o.cfg.buffer_mem = win + tpmcrb_regs_size(&o.cfg);
    bo.state_dir = o.dev.state_dir;
    po.hub_socket = o.hub;
    po.mem_fd = fd;
    po.mem_offset = o.offset;
    rc = EXIT_RUNTIME;
    if (state_key_use(o.dev.key, o.dev.backend) < 0 ||
        tpmcrb_backend_open(o.dev.backend, &bo, &be) < 0 ||
        tpmcrb_device_new(&o.cfg, be, &dev) < 0 ||
        tpmcrb_poller_start_with(dev, &po, &poller) < 0)
        goto out;
    LOG_INFO("device at %#llx (%s layout, %u localities) "
            "in %s", (unsigned long long)o.cfg.base,
            device_layout_name(o.cfg.layout),
            o.cfg.localities, o.shm);
    sig = tool_wait_stop_signal();
    LOG_DEBUG("stopping on signal %d", sig);
    rc = EXIT_OK;
out:
    tpmcrb_poller_stop(poller);
    tpmcrb_device_free(dev);
    tpmcrb_backend_close(be);
    munmap(win, len);
    close(fd);
    return rc;
}
