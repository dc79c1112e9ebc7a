/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/commands.h"

#include <stdio.h>

int cmd_vm(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "tpmcrb vm: not implemented yet\n");
    return EXIT_RUNTIME;
}
