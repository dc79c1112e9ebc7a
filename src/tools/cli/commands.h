/* SPDX-License-Identifier: BSD-3-Clause */
/* Subcommands of the tpmcrb tool. Each returns the process exit code:
 * 0 ok, 1 runtime error, 2 usage error. */
#ifndef TPMCRB_COMMANDS_H
#define TPMCRB_COMMANDS_H

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_pipe(int argc, char **argv);
int cmd_acpi(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_serve_hub(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_setup(int argc, char **argv);

#endif
