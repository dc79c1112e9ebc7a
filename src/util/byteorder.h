/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Byte order. What a guest sees (register pages, buffers) and what files
 * hold is little-endian on every host; values in the program are in host
 * order. These are the only conversions between the two: a register dword
 * in guest memory is moved with the le32_* accessors below (single-copy
 * atomic, as a guest or another thread may access it at the same time),
 * bytes of files and wire formats with get_le* / put_le*. On a
 * little-endian host they compile to plain accesses.
 */
#ifndef TPMCRB_BYTEORDER_H
#define TPMCRB_BYTEORDER_H

#include <stdbool.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__) || \
    !defined(__ORDER_BIG_ENDIAN__)
#error "the compiler must define __BYTE_ORDER__ (GCC and Clang do)"
#endif

static inline uint32_t host_to_le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

/* The same swap both ways; two names say which way a value goes. */
static inline uint32_t le32_to_host(uint32_t v)
{
    return host_to_le32(v);
}

/* ------------------------------------ register dwords in guest memory */

/* Release: a reader that sees @v with an acquire load also sees what was
 * written before it (a response before START reads 0). */
static inline void le32_store_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, host_to_le32(v), __ATOMIC_RELEASE);
}

static inline uint32_t le32_load_acquire(const uint32_t *p)
{
    return le32_to_host(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Store @v (release, as le32_store_release) unless *@p no longer holds
 * @old: someone wrote it meanwhile. */
static inline void le32_replace_release(uint32_t *p, uint32_t old, uint32_t v)
{
    uint32_t expected = host_to_le32(old);

    __atomic_compare_exchange_n(p, &expected, host_to_le32(v), false,
                                __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* Store @v and return what was there. */
static inline uint32_t le32_exchange(uint32_t *p, uint32_t v)
{
    return le32_to_host(__atomic_exchange_n(p, host_to_le32(v),
                                            __ATOMIC_ACQ_REL));
}

/* ------------------------------------ bytes of files and wire formats */

/* Little-endian bytes at any alignment. */
static inline uint32_t get_le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t get_le64(const uint8_t *p)
{
    return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
