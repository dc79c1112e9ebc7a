/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb state`: inspect and convert device snapshots. */
#ifndef TPMCRB_CMD_STATE_H
#define TPMCRB_CMD_STATE_H

int cmd_state(int argc, char **argv);

#endif
