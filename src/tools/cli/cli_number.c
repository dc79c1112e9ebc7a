/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/cli_number.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool parse_u64(const char *s, uint64_t *out)
{
    const char *digits = "0123456789";
    int base = 10;
    char *end;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        digits = "0123456789abcdefABCDEF";
        base = 16;
        s += 2;
    }
    /* strtoull alone would take a sign and leading blanks. */
    if (!*s || s[strspn(s, digits)])
        return false;
    errno = 0;
    *out = strtoull(s, &end, base);
    return !errno && !*end;
}

bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;

    if (!parse_u64(s, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *out)
{
    uint64_t v;

    if (!parse_u64(s, &v) || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}
