/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Little-endian words in memory another party reads: the register pages a
 * guest maps, and files. The CRB registers are little-endian whatever the
 * host is; everything that stores or loads a register dword of a page goes
 * through these, so byte order lives here and nowhere else. On a
 * little-endian host they compile to plain (atomic) accesses.
 */
#ifndef TPMCRB_BYTEORDER_H
#define TPMCRB_BYTEORDER_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CRB_HOST_BIG_ENDIAN 1
#else
#define CRB_HOST_BIG_ENDIAN 0
#endif

/* A host value as the little-endian word it is in memory, and back (the
 * same swap both ways). */
static inline uint32_t crb_cpu_to_le32(uint32_t v)
{
#if CRB_HOST_BIG_ENDIAN
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

static inline uint32_t crb_le32_to_cpu(uint32_t v)
{
    return crb_cpu_to_le32(v);
}

/* Register dwords of a page that a guest or another thread may access at
 * the same time: single-copy atomic, relaxed unless said otherwise. */
static inline void crb_le32_store(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, crb_cpu_to_le32(v), __ATOMIC_RELAXED);
}

static inline uint32_t crb_le32_load_acquire(const uint32_t *p)
{
    return crb_le32_to_cpu(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Store @v unless *@p no longer holds @old (someone wrote it meanwhile). */
static inline void crb_le32_replace(uint32_t *p, uint32_t old, uint32_t v)
{
    uint32_t expected = crb_cpu_to_le32(old);

    __atomic_compare_exchange_n(p, &expected, crb_cpu_to_le32(v), false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Store @v and return what was there. */
static inline uint32_t crb_le32_exchange(uint32_t *p, uint32_t v)
{
    return crb_le32_to_cpu(__atomic_exchange_n(p, crb_cpu_to_le32(v),
                                               __ATOMIC_ACQ_REL));
}

/* Byte streams (files, snapshots): unaligned little-endian fields. */
static inline uint32_t crb_get_le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void crb_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t crb_get_le64(const uint8_t *p)
{
    return crb_get_le32(p) | (uint64_t)crb_get_le32(p + 4) << 32;
}

static inline void crb_put_le64(uint8_t *p, uint64_t v)
{
    crb_put_le32(p, (uint32_t)v);
    crb_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
