/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb serve-hub`: the idle hub that `tpmcrb serve --hub SOCKET`
 * devices hand their register pages to while their guests are quiet
 * (src/tools/serve/hub.c). Runs until SIGINT/SIGTERM; devices attached
 * then go back to polling by themselves.
 */
#include "tools/serve/hub.h"
#include "tools/tool.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Between looks at the idle devices' pages: what a guest's first write
 * after a quiet spell may wait, at most, besides the scheduler. A tenth of
 * Linux's 200 ms timeout C (a device polling by itself sleeps up to a
 * quarter of it): one thread looking at every idle device can afford to
 * look more often, and the host's delay in waking the device after the
 * look leaves more of timeout C. */
#define DEFAULT_PERIOD_MS   20u
#define MAX_PERIOD_MS       100u
#define DEFAULT_MAX_DEVICES 4096u
#define MAX_DEVICES         65536u

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb serve-hub --socket PATH [OPTIONS]\n"
"Watch the devices of idle `tpmcrb serve --hub PATH` instances from one\n"
"thread and wake an instance when its guest writes, until SIGINT or SIGTERM.\n"
"\n"
"  --socket PATH        listen on this Unix socket (made mode 0600)\n"
"  --period MS          between looks at the idle devices (1-%u, default %u)\n"
"  --max-devices N      devices watched at most (default %u)\n",
            MAX_PERIOD_MS, DEFAULT_PERIOD_MS, DEFAULT_MAX_DEVICES);
    tool_log_usage(out);
}

static int parse(struct hub_options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "period", required_argument, NULL, 'p' },
        { "max-devices", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool ok = true;
    int opt;

    *o = (struct hub_options){ .period_ms = DEFAULT_PERIOD_MS,
                               .max_devices = DEFAULT_MAX_DEVICES };
    optind = 1;
    while (ok && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': o->socket_path = optarg; break;
        case 'p': ok = parse_unsigned(optarg, 1, MAX_PERIOD_MS, &o->period_ms); break;
        case 'm': ok = parse_unsigned(optarg, 1, MAX_DEVICES, &o->max_devices); break;
        case 'h': usage(stdout); return -1;
        default: ok = false;
        }
        if (!ok && opt != '?')
            LOG_ERROR("bad value '%s'", optarg);
    }
    if (!ok)
        return EXIT_USAGE;
    if (!o->socket_path || optind != argc) {
        LOG_ERROR("--socket PATH is required, and nothing else");
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_serve_hub(int argc, char **argv)
{
    volatile sig_atomic_t *stop;
    struct hub_options o;
    int rc = parse(&o, argc, argv);

    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    stop = tool_stop_on_signals(); /* ends the hub's wait at once */
    signal(SIGPIPE, SIG_IGN);
    return hub_run(&o, stop) < 0 ? EXIT_RUNTIME : EXIT_OK;
}
