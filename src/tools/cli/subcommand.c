/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/subcommand.h"
#include "tools/cli/commands.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out, const char *usage_line,
                  const struct subcommand *table, size_t n)
{
    fprintf(out, "%s\n", usage_line);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-9s %s\n", table[i].name, table[i].summary);
}

int subcommand_run(const char *prog, const char *usage_line,
                   const struct subcommand *table, size_t n,
                   int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout, usage_line, table, n);
        return EXIT_OK;
    }
    for (size_t i = 0; argc >= 2 && i < n; i++)
        if (!strcmp(argv[1], table[i].name)) {
            /* getopt prefixes its messages with argv[0]: the one format. */
            static char prefix[64];

            snprintf(prefix, sizeof(prefix), "%s: error", prog);
            argv[1] = prefix;
            return table[i].run(argc - 1, argv + 1);
        }
    if (argc >= 2)
        LOG_ERROR("unknown command '%s' ('%s --help' lists them)", argv[1],
                  prog);
    usage(stderr, usage_line, table, n);
    return EXIT_USAGE;
}
