/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb pipe`: raw TPM commands on stdin, raw responses on stdout, each
 * carried through the CRB register protocol of a tpmcrb device, as Linux's
 * tpm_crb driver does it. Made for the TSS `cmd` TCTI (docs/design.md,
 * "Tools"):
 * every tool call is a new process, so the TPM behaves as one machine that
 * stays powered between calls (state saved before each response, shared
 * safely between concurrent processes), and like /dev/tpmrm0 toward its
 * client: a resource manager (resource_manager.h) keeps the client's
 * objects and sessions out of the TPM between its commands, and flushes
 * them at exit; the client registry (client_registry.h) flushes what a
 * pipe that died left behind.
 */
#include "tools/tool.h"
#include "tools/pipe/client_registry.h"
#include "tools/pipe/resource_manager.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_BUF_SIZE     TPMCRB_SPLIT_BUFFER_SIZE
#define DRAIN_LIMIT       (1u << 20)  /* larger oversize commands end the stream */
#define PIPE_TIMEOUT_MS   600000u     /* RSA key generation can take a while */

struct pipe_opts {
    struct device_options dev;
    bool power_cycle, no_flush;
    unsigned locality;
};

struct pipe {
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct crb_driver drv;
    struct resource_manager rm;
    struct client_registry reg;
    bool managed;       /* resource manager on (not --no-flush) */
    bool registered;    /* in the state directory's client registry */
    bool flush;         /* flush the client's resources at exit */
    uint32_t max_cmd;
    uint8_t cmd[PIPE_BUF_SIZE], rsp[PIPE_BUF_SIZE];
};

/* ------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_signal;
static sigset_t wait_mask;  /* the mask while waiting for input */

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* SIGTERM/SIGINT/SIGHUP stay blocked except while waiting for input
 * (ppoll), so a command is never interrupted between its state save and
 * its response, and a signal can never slip in just before a blocking
 * read. The handler only sets a flag: the flush and the power-off run in
 * normal context. */
static void setup_signals(void)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&block, sigs[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigdelset(&wait_mask, sigs[i]);
    signal(SIGPIPE, SIG_IGN); /* a vanished client is EPIPE, not death */
}

/* ---------------------------------------------------------------- I/O */

enum rd { RD_OK, RD_EOF, RD_SHORT, RD_STOP, RD_ERR };

/* Read exactly @len bytes from stdin; RD_EOF only when nothing was read. */
static enum rd read_exact(uint8_t *buf, size_t len)
{
    struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
    size_t got = 0;

    while (got < len) {
        ssize_t n;

        if (stop_signal)
            return RD_STOP;
        if (ppoll(&pfd, 1, NULL, &wait_mask) < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR("poll on stdin: %s", strerror(errno));
            return RD_ERR;
        }
        n = read(STDIN_FILENO, buf + got, len - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            LOG_ERROR("read from stdin: %s", strerror(errno));
            return RD_ERR;
        }
        if (n == 0)
            return got ? RD_SHORT : RD_EOF;
        got += (size_t)n;
    }
    return RD_OK;
}

static int write_all(const uint8_t *buf, size_t len)
{
    int err = fd_write_all(STDOUT_FILENO, buf, len);

    if (err < 0 && err != -EPIPE)
        LOG_ERROR("write to stdout: %s", strerror(-err));
    return err;
}

/* Throw away @len bytes of an oversized command. */
static enum rd drain(uint32_t len)
{
    uint8_t scratch[4096];

    while (len) {
        uint32_t n = len < sizeof(scratch) ? len : (uint32_t)sizeof(scratch);
        enum rd r = read_exact(scratch, n);

        if (r != RD_OK)
            return r == RD_EOF ? RD_SHORT : r;
        len -= n;
    }
    return RD_OK;
}

/* ------------------------------------------------------------ commands */

static void trace_command(const uint8_t *cmd, uint32_t len)
{
    const char *name = tpm_command_name(tpm_hdr_code(cmd));

    LOG_TRACE("command %s (0x%x), %u bytes", name ? name : "unknown",
              tpm_hdr_code(cmd), len);
}

/* One command through the device (the resource manager's own too). A
 * device failure is answered with TPM_RC_FAILURE so the client gets a
 * response; the caller then stops. */
static int device_send(void *ctx, const uint8_t *cmd, uint32_t len,
                       uint8_t *rsp, uint32_t cap, uint32_t *rsp_len)
{
    struct pipe *p = ctx;
    int err;

    trace_command(cmd, len);
    err = crb_driver_transmit(&p->drv, cmd, len, rsp, cap, rsp_len);
    if (err < 0) {
        LOG_ERROR("the device failed the command: %s", strerror(-err));
        *rsp_len = tpm_error_response(rsp, TPM_RC_FAILURE);
        return err;
    }
    LOG_TRACE("response 0x%x, %u bytes", tpm_hdr_code(rsp), *rsp_len);
    return 0;
}

static int flush_dead_client(void *ctx, const uint32_t *handles, unsigned n)
{
    struct pipe *p = ctx;

    return rm_flush_handles(&p->rm, handles, n);
}

/* Enter the registry's lock for one command; clean up after a pipe that
 * died inside its command. */
static int command_begin(struct pipe *p)
{
    bool interrupted;
    int err;

    if (!p->registered)
        return 0;
    if ((err = registry_begin(&p->reg, &interrupted)) < 0)
        return err;
    if (interrupted &&
        ((err = rm_flush_loaded(&p->rm)) < 0 ||
         (err = registry_reap(&p->reg, flush_dead_client, p)) < 0)) {
        registry_end(&p->reg);
        return err;
    }
    return 0;
}

/* The client's sessions into its record, where the next pipe finds them
 * if this one dies (the resource manager calls it too, before it saves new
 * sessions). */
static void record_sessions(void *ctx)
{
    struct pipe *p = ctx;
    uint32_t handles[REGISTRY_MAX_HANDLES];
    unsigned n;

    if (!p->registered || !p->rm.sessions_changed)
        return;
    n = rm_sessions(&p->rm, handles, REGISTRY_MAX_HANDLES);
    registry_record(&p->reg, handles, n);
}

/* Record a changed set of sessions before anyone else runs a command. */
static void command_end(struct pipe *p)
{
    if (!p->registered)
        return;
    record_sessions(p);
    registry_end(&p->reg);
}

/* One client command, managed unless --no-flush. */
static int transact(struct pipe *p, uint8_t *cmd, uint32_t len,
                    uint32_t *rsp_len)
{
    int err;

    if (!p->managed)
        return device_send(p, cmd, len, p->rsp, sizeof(p->rsp), rsp_len);
    if ((err = command_begin(p)) < 0) {
        *rsp_len = tpm_error_response(p->rsp, TPM_RC_FAILURE);
        return err;
    }
    err = rm_command(&p->rm, cmd, len, p->rsp, sizeof(p->rsp), rsp_len);
    if (err < 0 && *rsp_len < TPM_HEADER_SIZE)
        *rsp_len = tpm_error_response(p->rsp, TPM_RC_FAILURE);
    command_end(p);
    return err;
}

/* The firmware's part on a fresh boot. TPM_RC_INITIALIZE means another
 * process sharing the state directory started the TPM first. */
static int send_startup(struct pipe *p)
{
    uint8_t cmd[12], su[2];
    uint32_t len, rc;

    tpm_put_be16(su, TPM_SU_CLEAR);
    len = tpm_build_command(cmd, sizeof(cmd), TPM_CC_Startup, su, sizeof(su));
    if (device_send(p, cmd, len, p->rsp, sizeof(p->rsp), &len) < 0)
        return -EIO;
    rc = tpm_hdr_code(p->rsp);
    if (rc != TPM_RC_SUCCESS && rc != TPM_RC_INITIALIZE) {
        char text[CRB_RC_TEXT_MAX];

        LOG_ERROR("TPM2_Startup(CLEAR) failed with %s",
                  crb_rc_text(rc, text, sizeof(text)));
        return -EIO;
    }
    return 0;
}

/* What the client left: flushed as closing /dev/tpmrm0 does. */
static void flush_leftovers(struct pipe *p)
{
    if (command_begin(p) < 0)
        return;
    if (rm_release(&p->rm) < 0)
        p->flush = false; /* keep the record: the next pipe flushes it */
    command_end(p);
}

/* Read one command into p->cmd. Returns its length; 0 at the end of the
 * input or on a stop signal; -EIO when the input failed or ended inside a
 * command; -EMSGSIZE for a bad size that was skipped, -EPROTO for one that
 * ends the stream (both still to be answered). */
static int next_command(struct pipe *p)
{
    uint32_t size;
    enum rd r;

    r = read_exact(p->cmd, TPM_HEADER_SIZE);
    if (r == RD_EOF || r == RD_STOP)
        return 0;
    if (r != RD_OK)
        goto short_input;
    size = tpm_hdr_size(p->cmd);
    if (size < TPM_HEADER_SIZE || size > p->max_cmd) {
        LOG_ERROR("command size %u outside %u..%u", size,
                  TPM_HEADER_SIZE, p->max_cmd);
        /* A too-large command can be skipped; a too-small size leaves no
         * way to find the next command. */
        if (size < TPM_HEADER_SIZE || size - TPM_HEADER_SIZE > DRAIN_LIMIT ||
            drain(size - TPM_HEADER_SIZE) != RD_OK)
            return -EPROTO;
        return -EMSGSIZE;
    }
    r = read_exact(p->cmd + TPM_HEADER_SIZE, size - TPM_HEADER_SIZE);
    if (r == RD_OK)
        return (int)size;
short_input:
    if (r == RD_STOP)
        return 0;
    if (r == RD_SHORT || r == RD_EOF)
        LOG_ERROR("input ended in the middle of a command");
    return -EIO;
}

static int serve(struct pipe *p)
{
    for (;;) {
        uint32_t rsp_len;
        int len = next_command(p);

        if (len == 0)
            return EXIT_OK;
        if (len == -EIO)
            return EXIT_RUNTIME;
        if (len < 0) {
            rsp_len = tpm_error_response(p->rsp, TPM_RC_COMMAND_SIZE);
            if (write_all(p->rsp, rsp_len) < 0 || len == -EPROTO)
                return EXIT_RUNTIME;
            continue;
        }
        if (transact(p, p->cmd, (uint32_t)len, &rsp_len) < 0) {
            write_all(p->rsp, rsp_len);
            p->flush = false; /* the device is in its fatal state */
            return EXIT_RUNTIME;
        }
        if (write_all(p->rsp, rsp_len) < 0)
            return EXIT_OK; /* the client went away: orderly power-off */
        if (p->managed) {
            /* Sessions the client saved are in its hands now. Its record
             * is its own file: no lock needed to rewrite it. A death just
             * before this rewrite has the next pipe flush a session whose
             * context the client got; recording it as the client's before
             * the write would leak one whose context it never got. */
            rm_delivered(&p->rm);
            record_sessions(p);
        }
    }
}

/* -------------------------------------------------------------- set-up */

static int pipe_start(struct pipe *p, const struct pipe_opts *o)
{
    struct tpmcrb_backend_options bo = { .size = sizeof(bo),
        .state_dir = o->dev.state_dir,
        .sync = TPMCRB_STATE_SYNC_PER_COMMAND,
        .power_cycle = o->power_cycle,
    };
    struct tpmcrb_config cfg;
    int err;

    if ((err = state_key_use(o->dev.key, o->dev.backend)) < 0 ||
        (err = tpmcrb_backend_open(o->dev.backend, &bo, &p->be)) < 0)
        return err;
    device_options_config(&o->dev, &cfg);
    if ((err = tpmcrb_device_new(&cfg, p->be, &p->dev)) < 0)
        return err;
    memset(&p->drv, 0, sizeof(p->drv));
    if ((err = crb_driver_init(&p->drv, p->dev, o->locality)) < 0)
        return err;
    p->drv.timeout_ms = PIPE_TIMEOUT_MS;
    p->max_cmd = p->drv.cmd_size < PIPE_BUF_SIZE ? p->drv.cmd_size
                                                 : PIPE_BUF_SIZE;
    rm_init(&p->rm, device_send, p);
    rm_set_recorder(&p->rm, record_sessions, p);
    p->managed = p->flush = !o->no_flush;
    if (!tpmcrb_device_tpm_resumed(p->dev) && (err = send_startup(p)) < 0)
        return err;
    if (p->managed && o->dev.state_dir) {
        if ((err = registry_open(&p->reg, o->dev.state_dir,
                                 flush_dead_client, p)) < 0)
            return err;
        p->registered = true;
    }
    return 0;
}

static void pipe_stop(struct pipe *p)
{
    if (p->dev && p->flush && p->managed)
        flush_leftovers(p);
    if (p->registered)
        registry_close(&p->reg, !p->flush);
    rm_free(&p->rm);
    tpmcrb_device_free(p->dev);
    tpmcrb_backend_close(p->be);
}

/* ------------------------------------------------------------- options */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: tpmcrb pipe [--state DIR] [--backend SPEC] [--power-cycle]\n"
        "                   [--no-flush] [--trace] [--locality N]\n"
        "                   [--layout split|compat]\n\n"
        "Reads raw TPM 2.0 commands on stdin and writes the responses on\n"
        "stdout, through the full CRB protocol of a tpmcrb device. For TSS\n"
        "clients: tpm2_getrandom -T \"cmd:tpmcrb pipe --state DIR\" 8\n\n"
        "  --state DIR      keep the TPM in DIR (created if missing or empty);\n"
        "                   without it, a fresh TPM in memory\n"
        "  --key file=PATH[,format=hex|binary]\n"
        "                   the state files are encrypted with this 256-bit\n"
        "                   key (AES-256-GCM)\n"
        "  --backend SPEC   libtpms (default), swtpm[:...], passthrough:DEV\n"
        "  --power-cycle    start from a fresh boot (TPM2_Startup(CLEAR))\n"
        "                   instead of resuming the saved state\n"
        "  --no-flush       a raw TPM, like /dev/tpm0: no resource manager;\n"
        "                   what the client leaves loaded stays loaded\n"
        "  --trace          log register accesses and TPM commands (stderr)\n"
        "  --locality N     locality 0-4 to send commands from (default 0)\n"
        "  --layout L       split (default) or compat (in-page buffer)\n");
    tool_log_usage(out);
}

/* Returns -1 after a usage error, 1 for --help, 0 to run. */
static int parse_args(int argc, char **argv, struct pipe_opts *o)
{
    static const struct option longopts[] = {
        { "power-cycle", no_argument, NULL, 'p' },
        { "no-flush", no_argument, NULL, 'n' },
        { "locality", required_argument, NULL, 'l' },
        DEVICE_OPTIONS_BACKEND,
        DEVICE_OPTION_LAYOUT,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    device_options_init(&o->dev);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        enum device_option_result r = device_option_take(&o->dev, c,
                                                         optarg);

        if (r == DEVOPT_BAD)
            return -1;
        if (r == DEVOPT_OK)
            continue;
        switch (c) {
        case 'p': o->power_cycle = true; break;
        case 'n': o->no_flush = true; break;
        case 'h': return 1;
        case 'l':
            if (!parse_unsigned(optarg, 0, TPMCRB_MAX_LOCALITIES - 1,
                                &o->locality)) {
                LOG_ERROR("--locality must be 0-4");
                return -1;
            }
            break;
        default:
            return -1;
        }
    }
    if (optind < argc) {
        LOG_ERROR("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

int cmd_pipe(int argc, char **argv)
{
    struct pipe_opts o;
    struct pipe *p;
    int rc;

    if ((rc = parse_args(argc, argv, &o)) != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    }
    setup_signals();
    p = calloc(1, sizeof(*p));
    if (!p)
        return EXIT_RUNTIME;
    if (pipe_start(p, &o) < 0) {
        LOG_ERROR("could not start the TPM (see above)");
        p->flush = false;
        rc = EXIT_RUNTIME;
    } else {
        rc = serve(p);
    }
    pipe_stop(p);
    free(p);
    return rc;
}
