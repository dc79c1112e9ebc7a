/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb state`: inspect and convert device snapshots. */
#ifndef TPMCRB_CMD_STATE_H
#define TPMCRB_CMD_STATE_H

#include <stdbool.h>

int cmd_state(int argc, char **argv);

/* import-swtpm (@import) or export-swtpm with argv[0] the subcommand. */
int state_swtpm(int argc, char **argv, bool import);

#endif
