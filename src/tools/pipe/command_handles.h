/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How many handles open a TPM 2.0 command and its response (TPM 2.0
 * Part 3): what a resource manager must know to find the handles it
 * translates. The authorization area, when the tag says there is one,
 * follows the command's handles.
 */
#ifndef TPMCRB_COMMAND_HANDLES_H
#define TPMCRB_COMMAND_HANDLES_H

#include <stdbool.h>
#include <stdint.h>

/* Handles in the command's and in the response's handle area. False for a
 * command code the table does not know (its handles are not translated). */
bool tpm_command_handles(uint32_t code, unsigned *in, unsigned *out);

#endif
