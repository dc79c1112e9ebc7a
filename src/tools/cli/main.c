/* SPDX-License-Identifier: BSD-3-Clause */
/* tpmcrb: command-line front end of the device model. */
#include "tools/state/cmd_state.h"
#include "tools/tool.h"

#include <stdio.h>
#include <string.h>

static const struct subcommand commands[] = {
    { "pipe",  cmd_pipe,  "raw TPM commands on stdin/stdout through the CRB protocol" },
    { "vm",    cmd_vm,    "run a Linux guest under QEMU with a tpmcrb TPM" },
    { "serve", cmd_serve, "serve a device in a shared memory file (poll mode)" },
    { "serve-hub", cmd_serve_hub, "watch idle serve devices from one thread" },
    { "acpi",  cmd_acpi,  "write the TPM2 table and the SSDT for a device" },
    { "setup", cmd_setup, "manufacture a TPM with EK certificates (like swtpm_setup)" },
    { "state", cmd_state, "inspect and convert device snapshots" },
    { "bench", cmd_bench, "benchmarks (print BENCH lines)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Run @c with argv[0] = "tpmcrb NAME: error", so that what getopt says
 * about a bad option comes in the tool's one message format. */
static int run_command(const struct subcommand *c, int argc, char **argv)
{
    static char prefix[64];

    tool_log_command(c->name);
    snprintf(prefix, sizeof(prefix), "tpmcrb %s: error", c->name);
    argv[1] = prefix;
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    int rc = tool_log_start(&argc, argv);

    if (rc != 0)
        return rc;
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("tpmcrb %s\n", tpmcrb_version());
        return EXIT_OK;
    }
    rc = -1;
    for (size_t i = 0; argc >= 2 && i < N_COMMANDS && rc < 0; i++)
        if (!strcmp(argv[1], commands[i].name))
            rc = run_command(&commands[i], argc, argv);
    if (rc < 0)
        rc = subcommand_run("tpmcrb",
                            "usage: tpmcrb [--help] [--version] "
                            "[--log-level L] [--log-file PATH]\n"
                            "              COMMAND [ARGS]\n"
                            "'tpmcrb COMMAND --help' describes a command.\n\n"
                            "options of every command:\n" TOOL_LOG_OPTIONS_HELP
                            "\ncommands:",
                            commands, N_COMMANDS, argc, argv);
    tool_log_stop();
    return rc;
}
