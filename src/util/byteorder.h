/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Byte order. What a guest sees (register pages, buffers) and what files
 * hold is little-endian on every host; values in the program are in host
 * order. These are the only conversions between the two: a register dword
 * in guest memory is read with le32_to_host() and written with
 * host_to_le32(), whatever width of atomic operation moves it.
 */
#ifndef TPMCRB_BYTEORDER_H
#define TPMCRB_BYTEORDER_H

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

/* Little-endian bytes of a file or a wire format, at any alignment. */
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

#endif
