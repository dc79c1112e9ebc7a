/* SPDX-License-Identifier: BSD-3-Clause */
#include "fuzz_common.h"
#include "core/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
    abort();
}

static void drop(enum tpmcrb_log_level level, const char *msg, void *opaque)
{
    (void)level; (void)msg; (void)opaque;
}

void fuzz_quiet_log(void)
{
    const char *keep = getenv("TPMCRB_FUZZ_LOG");

    if (keep && *keep == '1')
        tpmcrb_log_set(TPMCRB_LOG_DEBUG, NULL, NULL);
    else
        tpmcrb_log_set(TPMCRB_LOG_ERROR, drop, NULL);
}

bool fuzz_snapshot_stable(struct tpmcrb_device *dev, const uint8_t *blob,
                          size_t len)
{
    struct snap_view v;

    if (tpmcrb_device_paused(dev))
        return true;
    FUZZ_CHECK(snap_parse(blob, len, &v) == 0);
    return !v.busy;
}

void fuzz_check_resave(struct tpmcrb_device *dev, const uint8_t *blob,
                       size_t len, bool must_save)
{
    uint8_t *now;
    size_t now_len;

    if (tpmcrb_snapshot_save(dev, &now, &now_len) < 0) {
        FUZZ_CHECK(!must_save);
        return;
    }
    FUZZ_CHECK(now_len == len && !memcmp(now, blob, len));
    free(now);
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
    return in->off < in->len ? in->p[in->off++] : (in->off++, 0);
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
    uint16_t lo = fuzz_u8(in);

    return (uint16_t)(lo | fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
    uint32_t lo = fuzz_u16(in);

    return lo | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
    uint64_t lo = fuzz_u32(in);

    return lo | (uint64_t)fuzz_u32(in) << 32;
}
