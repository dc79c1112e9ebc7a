/* SPDX-License-Identifier: BSD-3-Clause */
/* tpmcrb: command-line front end of the device model. */
#include "tools/commands.h"
#include "tpmcrb.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "pipe",  cmd_pipe,  "raw TPM commands on stdin/stdout through the CRB protocol" },
    { "vm",    cmd_vm,    "run a Linux guest under QEMU with a tpmcrb TPM" },
    { "serve", cmd_serve, "serve a device in a shared memory file (poll mode)" },
    { "acpi",  cmd_acpi,  "write the TPM2 table and the SSDT for a device" },
    { "bench", cmd_bench, "benchmarks (print BENCH lines)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tpmcrb [--help] [--version] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tpmcrb COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tpmcrb %s\n", TPMCRB_VERSION_STRING);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tpmcrb: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
