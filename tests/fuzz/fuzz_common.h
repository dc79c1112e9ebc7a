/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets. Each target is a libFuzzer entry point; built
 * without libFuzzer, fuzz_main.c runs it over corpus files instead, so the
 * corpus in the tree is a regression test under any compiler. A broken
 * invariant aborts: libFuzzer and the regression run both report it.
 */
#ifndef TPMCRB_FUZZ_COMMON_H
#define TPMCRB_FUZZ_COMMON_H

#include "tpmcrb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() with a message when @cond is false. */
#define FUZZ_CHECK(cond) \
    ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))
void fuzz_fail(const char *what, const char *file, int line)
    __attribute__((noreturn));

/* The library's log is the hot path of a fuzzer fed nonsense: drop it
 * (TPMCRB_FUZZ_LOG=1 keeps it for debugging a crash). */
void fuzz_quiet_log(void);

/* Whether snapshot @blob of @dev stays as it is: the device is paused, or
 * no command was in flight (else the command runs on and the state moves
 * on by itself). The blob must parse. */
bool fuzz_snapshot_stable(struct tpmcrb_device *dev, const uint8_t *blob,
                          size_t len);
/* A new snapshot of @dev must be the very bytes of @blob. Unless
 * @must_save, a save that fails (a command outlived the bound) is allowed
 * and compares nothing. */
void fuzz_check_resave(struct tpmcrb_device *dev, const uint8_t *blob,
                       size_t len, bool must_save);

/* Little-endian reader over the fuzz input; reads past the end give 0. */
struct fuzz_in {
    const uint8_t *p;
    size_t len, off;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
static inline size_t fuzz_left(const struct fuzz_in *in)
{
    return in->off < in->len ? in->len - in->off : 0;
}

#endif
