/* SPDX-License-Identifier: BSD-3-Clause */
/* Numbers on the tpmcrb command line: decimal or 0x-prefixed hex, nothing
 * else (no sign, no octal surprise, no trailing text), in every command. */
#ifndef TPMCRB_CLI_NUMBER_H
#define TPMCRB_CLI_NUMBER_H

#include <stdbool.h>
#include <stdint.h>

bool parse_u64(const char *s, uint64_t *out);
bool parse_u32(const char *s, uint32_t *out);
/* A number in @min..@max. */
bool parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *out);

#endif
