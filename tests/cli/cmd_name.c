// SPDX-License-Identifier: BSD-3-Clause
/* cmd-name CODE...: the name the traces give each TPM command code, one a
 * line ("-" for a code without one). */
#include "util/tpm_cmd.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *name = tpm_command_name((uint32_t)strtoul(argv[i], NULL, 0));

        printf("%s %s\n", argv[i], name ? name : "-");
    }
    return 0;
}
