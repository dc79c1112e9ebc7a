/* SPDX-License-Identifier: BSD-3-Clause */
/* The size field that starts every public struct which may grow. */
#ifndef TPMCRB_ABI_H
#define TPMCRB_ABI_H

#include <stddef.h>
#include <stdint.h>

/* A struct from a much newer header is still far below this; a bigger
 * size is a field left uninitialised, not a version. */
#define CRB_ABI_MAX_STRUCT_SIZE 65536u

/* Is @size acceptable for the struct at @s named @what? @min is the size of
 * the struct's first version, @known its size in this library. A larger
 * size is fine when the bytes this library does not know are zero. Logs
 * the reason and returns -EINVAL when it is not acceptable, else 0. */
int crb_abi_size_check(const void *s, uint32_t size, size_t min, size_t known,
                       const char *what);

/* The common case: the struct has had one version so far. */
#define CRB_ABI_CHECK(ptr, type) \
    crb_abi_size_check((ptr), (ptr)->size, sizeof(type), sizeof(type), #type)

#endif
