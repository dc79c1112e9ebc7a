/* SPDX-License-Identifier: BSD-3-Clause */
/* A table of named subcommands, for `tpmcrb` and `tpmcrb bench`. */
#ifndef TPMCRB_SUBCOMMAND_H
#define TPMCRB_SUBCOMMAND_H

#include <stddef.h>

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* Run the subcommand named by argv[1] with argv shifted by one. --help
 * prints @usage_line and the table to stdout; a missing or unknown name
 * prints them to stderr and returns the usage exit code. The subcommand's
 * argv[0] is "@prog: error", which getopt puts before what it reports. */
int subcommand_run(const char *prog, const char *usage_line,
                   const struct subcommand *table, size_t n,
                   int argc, char **argv);

#endif
