/* SPDX-License-Identifier: BSD-3-Clause */
/* tpmcrb: command-line front end of the device model. */
#include "tools/state/cmd_state.h"
#include "tools/cli/commands.h"
#include "tools/cli/subcommand.h"
#include "tpmcrb.h"

#include <stdio.h>
#include <string.h>

static const struct subcommand commands[] = {
    { "pipe",  cmd_pipe,  "raw TPM commands on stdin/stdout through the CRB protocol" },
    { "vm",    cmd_vm,    "run a Linux guest under QEMU with a tpmcrb TPM" },
    { "serve", cmd_serve, "serve a device in a shared memory file (poll mode)" },
    { "acpi",  cmd_acpi,  "write the TPM2 table and the SSDT for a device" },
    { "setup", cmd_setup, "manufacture a TPM with EK certificates (like swtpm_setup)" },
    { "state", cmd_state, "inspect and convert device snapshots" },
    { "bench", cmd_bench, "benchmarks (print BENCH lines)" },
};

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("tpmcrb %s\n", TPMCRB_VERSION_STRING);
        return EXIT_OK;
    }
    return subcommand_run("tpmcrb",
                          "usage: tpmcrb [--help] [--version] COMMAND [ARGS]\n"
                          "'tpmcrb COMMAND --help' describes a command.\n\n"
                          "commands:",
                          commands, sizeof(commands) / sizeof(commands[0]),
                          argc, argv);
}
