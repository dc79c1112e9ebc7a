/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tools' logging. Every message of a command, its own and the
 * library's, is one line in one format:
 *
 *   [TIMESTAMP ]tpmcrb COMMAND: LEVEL: message
 *
 * --log-level and --log-file are taken out of the command line before the
 * command parses it, so that every command has them; TPM response codes
 * in the logs are decoded with libtss2-rc.
 */
#ifndef TPMCRB_TOOL_LOG_H
#define TPMCRB_TOOL_LOG_H

#include "tpmcrb.h"

#include <stdio.h>

/* The help text of the options every command has. */
#define TOOL_LOG_OPTIONS_HELP \
"  --log-level L        error, warn (default), info, debug or trace\n" \
"  --log-file PATH      append the log to PATH (created 0600) as well;\n" \
"                       errors still go to stderr\n"

/* Print the options above under a heading, for a command's --help. */
void tool_log_usage(FILE *out);

/* Remove --log-level/--log-file (also as --opt=VALUE) from argv[1..]
 * (stopping at "--"), apply them and route the library's log through the
 * tool's format. Returns 0, or after logging the problem EXIT_USAGE (bad
 * level) or EXIT_RUNTIME (the log file cannot be opened). */
int tool_log_start(int *argc, char **argv);

/* The command named in every line ("pipe"); NULL: the tool itself. */
void tool_log_command(const char *command);

/* --trace and the like: raise the level (never lowers what was asked). */
void tool_log_raise(enum tpmcrb_log_level level);

/* Set the level for a while (setup quiets a notice); returns the old one. */
enum tpmcrb_log_level tool_log_set_level(enum tpmcrb_log_level level);

void tool_log_stop(void);

#endif
