/* SPDX-License-Identifier: BSD-3-Clause */
/* AML encoder; opcodes and encodings from the ACPI spec's AML grammar. */
#include "platform/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    ZERO_OP = 0x00, ONE_OP = 0x01, ONES_OP = 0xFF,
    NAME_OP = 0x08, SCOPE_OP = 0x10, BUFFER_OP = 0x11, PACKAGE_OP = 0x12,
    METHOD_OP = 0x14, EXT_OP_PREFIX = 0x5B, DEVICE_OP = 0x82 /* after 0x5B */,
    BYTE_PREFIX = 0x0A, WORD_PREFIX = 0x0B, DWORD_PREFIX = 0x0C,
    STRING_PREFIX = 0x0D, QWORD_PREFIX = 0x0E,
    ROOT_CHAR = 0x5C, PARENT_PREFIX = 0x5E,
    DUAL_NAME_PREFIX = 0x2E, MULTI_NAME_PREFIX = 0x2F, NULL_NAME = 0x00,
    ARG0_OP = 0x68, IF_OP = 0xA0, ELSE_OP = 0xA1, RETURN_OP = 0xA4,
    LEQUAL_OP = 0x93,
    /* Resource descriptors (ACPI spec, "Resource Data Types"). */
    RES_MEMORY32_FIXED = 0x86, RES_END_TAG = 0x79,
};

#define MEMORY32_FIXED_BODY 9u /* info byte, base, length */
#define NAMESEG_LEN 4u
#define MAX_NAME_SEGS 32u

static void fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

void aml_init(struct aml *a, size_t max)
{
    memset(a, 0, sizeof(*a));
    a->max = max;
    a->after_if = SIZE_MAX;
}

void aml_free(struct aml *a)
{
    free(a->data);
    aml_init(a, a->max);
}

int aml_take(struct aml *a, uint8_t **data, size_t *len)
{
    int err = a->err;

    if (!err && a->depth)
        err = -EINVAL; /* a construct was never closed */
    if (err) {
        aml_free(a);
        return err;
    }
    *data = a->data;
    *len = a->len;
    a->data = NULL;
    aml_free(a);
    return 0;
}

/* Room for @n more bytes; false (and the error recorded) if there is none. */
static bool reserve(struct aml *a, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (a->err)
        return false;
    if (n > a->max - a->len) {
        fail(a, -E2BIG);
        return false;
    }
    if (a->len + n <= a->cap)
        return true;
    cap = a->cap ? a->cap : 64;
    while (cap < a->len + n)
        cap = cap > a->max / 2 ? a->max : cap * 2;
    if (cap > a->max)
        cap = a->max;
    p = realloc(a->data, cap);
    if (!p) {
        fail(a, -ENOMEM);
        return false;
    }
    a->data = p;
    a->cap = cap;
    return true;
}

static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
    if (!reserve(a, n))
        return;
    memmove(a->data + pos + n, a->data + pos, a->len - pos);
    memcpy(a->data + pos, p, n);
    a->len += n;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (!n || !reserve(a, n))
        return;
    memcpy(a->data + a->len, p, n);
    a->len += n;
}

void aml_u8(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

static void put_le(uint8_t *out, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static void append_le(struct aml *a, uint64_t v, unsigned n)
{
    uint8_t b[8];

    put_le(b, v, n);
    aml_bytes(a, b, n);
}

void aml_le16(struct aml *a, uint16_t v) { append_le(a, v, 2); }
void aml_le32(struct aml *a, uint32_t v) { append_le(a, v, 4); }
void aml_le64(struct aml *a, uint64_t v) { append_le(a, v, 8); }

/* ------------------------------------------------------------ PkgLength */

/* Largest value a PkgLength of 1, 2, 3, 4 bytes holds: the one-byte form
 * has 6 bits, the others 4 bits in the lead byte plus 8 per extra byte. */
static const uint32_t pkglen_limit[4] = { 0x3F, 0xFFF, 0xFFFFF, 0xFFFFFFF };

unsigned aml_pkglen_encode(uint8_t out[4], uint32_t total)
{
    unsigned extra;

    if (total <= pkglen_limit[0]) {
        out[0] = (uint8_t)total;
        return 1;
    }
    for (extra = 1; extra < 4; extra++)
        if (total <= pkglen_limit[extra])
            break;
    if (extra == 4)
        return 0;
    /* Lead byte: bits 7:6 count the extra bytes, bits 3:0 the low nibble. */
    out[0] = (uint8_t)(extra << 6 | (total & 0xF));
    for (unsigned i = 1; i <= extra; i++)
        out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    return extra + 1;
}

unsigned aml_pkglen_for_payload(uint8_t out[4], size_t payload)
{
    for (unsigned n = 1; n <= 4; n++)
        if (payload <= pkglen_limit[n - 1] - n)
            return aml_pkglen_encode(out, (uint32_t)(payload + n));
    return 0;
}

/* ---------------------------------------------------------- constructs */

static void open_construct(struct aml *a, enum aml_open_kind kind)
{
    if (a->err)
        return;
    if (a->depth == AML_MAX_DEPTH) {
        fail(a, -EINVAL);
        return;
    }
    a->open[a->depth].mark = a->len;
    a->open[a->depth].kind = kind;
    a->depth++;
}

static void close_pkg(struct aml *a, size_t mark)
{
    uint8_t enc[4];
    unsigned n = aml_pkglen_for_payload(enc, a->len - mark);

    if (!n) {
        fail(a, -E2BIG);
        return;
    }
    insert(a, mark, enc, n);
}

static unsigned integer_encode(uint8_t out[9], uint64_t v)
{
    static const struct { uint64_t max; uint8_t prefix; unsigned n; } forms[] = {
        { 0xFF, BYTE_PREFIX, 1 }, { 0xFFFF, WORD_PREFIX, 2 },
        { 0xFFFFFFFF, DWORD_PREFIX, 4 }, { UINT64_MAX, QWORD_PREFIX, 8 },
    };
    size_t i = 0;

    /* Ones is all 64 bits only because our tables are revision 2 (64-bit
     * integers); in a revision 1 table it would mean 0xFFFFFFFF. */
    if (v == 0 || v == 1 || v == UINT64_MAX) {
        out[0] = v == 0 ? ZERO_OP : v == 1 ? ONE_OP : ONES_OP;
        return 1;
    }
    while (v > forms[i].max)
        i++;
    out[0] = forms[i].prefix;
    put_le(out + 1, v, forms[i].n);
    return 1 + forms[i].n;
}

static void close_buffer(struct aml *a, size_t mark)
{
    uint8_t size[9];
    unsigned n = integer_encode(size, a->len - mark);

    insert(a, mark, size, n); /* BufferSize precedes the bytes */
    close_pkg(a, mark);
}

/* EndTag: its checksum byte makes all bytes of the template sum to 0. */
static void end_tag(struct aml *a, size_t mark)
{
    uint8_t sum = RES_END_TAG;

    for (size_t i = mark; i < a->len; i++)
        sum += a->data[i];
    aml_u8(a, RES_END_TAG);
    aml_u8(a, (uint8_t)-sum);
}

void aml_end(struct aml *a)
{
    size_t mark;
    enum aml_open_kind kind;

    if (a->err)
        return;
    if (!a->depth) {
        fail(a, -EINVAL);
        return;
    }
    a->depth--;
    mark = a->open[a->depth].mark;
    kind = a->open[a->depth].kind;
    switch (kind) {
    case AML_OPEN_RESTEMPLATE:
        end_tag(a, mark);
        close_buffer(a, mark);
        break;
    case AML_OPEN_BUFFER:
        close_buffer(a, mark);
        break;
    case AML_OPEN_IF:
    case AML_OPEN_PKG:
        close_pkg(a, mark);
        break;
    }
    if (kind == AML_OPEN_IF)
        a->after_if = a->len;
}

/* --------------------------------------------------------------- names */

static bool seg_char(char c, bool lead)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* Split @p into padded NameSegs; returns the count or -1 if malformed. */
static int parse_segs(const char *p, char segs[][NAMESEG_LEN])
{
    unsigned count = 0;

    if (!*p)
        return 0;
    for (;;) {
        unsigned n = 0;

        if (count == MAX_NAME_SEGS)
            return -1;
        memset(segs[count], '_', NAMESEG_LEN);
        while (*p && *p != '.') {
            if (n == NAMESEG_LEN || !seg_char(*p, n == 0))
                return -1;
            segs[count][n++] = *p++;
        }
        if (!n)
            return -1;
        count++;
        if (!*p)
            return (int)count;
        p++; /* '.' */
    }
}

void aml_namestring(struct aml *a, const char *path)
{
    char segs[MAX_NAME_SEGS][NAMESEG_LEN];
    int count;

    if (*path == '\\')
        aml_u8(a, ROOT_CHAR), path++;
    else
        while (*path == '^')
            aml_u8(a, PARENT_PREFIX), path++;
    count = parse_segs(path, segs);
    if (count < 0) {
        fail(a, -EINVAL);
        return;
    }
    if (count == 0)
        aml_u8(a, NULL_NAME);
    else if (count == 2)
        aml_u8(a, DUAL_NAME_PREFIX);
    else if (count > 2)
        aml_u8(a, MULTI_NAME_PREFIX), aml_u8(a, (uint8_t)count);
    aml_bytes(a, segs, (size_t)count * NAMESEG_LEN);
}

/* -------------------------------------------------------- data objects */

void aml_integer(struct aml *a, uint64_t v)
{
    uint8_t enc[9];

    aml_bytes(a, enc, integer_encode(enc, v));
}

static bool ascii_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s > 0x7F)
            return false;
    return true;
}

void aml_string(struct aml *a, const char *s)
{
    if (!ascii_ok(s)) {
        fail(a, -EINVAL);
        return;
    }
    aml_u8(a, STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

void aml_unicode(struct aml *a, const char *s)
{
    if (!ascii_ok(s)) {
        fail(a, -EINVAL);
        return;
    }
    aml_buffer_open(a);
    for (; *s; s++)
        aml_u8(a, (uint8_t)*s), aml_u8(a, 0);
    aml_le16(a, 0);
    aml_end(a);
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
    aml_buffer_open(a);
    aml_bytes(a, p, n);
    aml_end(a);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int aml_uuid_bytes(const char *uuid, uint8_t out[16])
{
    /* Where each byte of the text lands: groups 1-3 are little-endian. */
    static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                       8, 9, 10, 11, 12, 13, 14, 15 };
    unsigned byte = 0;

    if (strlen(uuid) != 36)
        return -EINVAL;
    for (unsigned i = 0; i < 36;) {
        int hi, lo;

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (uuid[i++] != '-')
                return -EINVAL;
            continue;
        }
        hi = hex_value(uuid[i]);
        lo = hex_value(uuid[i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[order[byte++]] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

void aml_uuid(struct aml *a, const char *uuid)
{
    uint8_t b[16];

    if (aml_uuid_bytes(uuid, b) < 0) {
        fail(a, -EINVAL);
        return;
    }
    aml_buffer(a, b, sizeof(b));
}

void aml_arg(struct aml *a, unsigned n)
{
    if (n > 6) {
        fail(a, -EINVAL);
        return;
    }
    aml_u8(a, (uint8_t)(ARG0_OP + n));
}

/* ----------------------------------------------------------- operators */

void aml_name(struct aml *a, const char *name)
{
    aml_u8(a, NAME_OP);
    aml_namestring(a, name);
}

void aml_return(struct aml *a) { aml_u8(a, RETURN_OP); }
void aml_lequal(struct aml *a) { aml_u8(a, LEQUAL_OP); }

void aml_scope(struct aml *a, const char *path)
{
    aml_u8(a, SCOPE_OP);
    open_construct(a, AML_OPEN_PKG);
    aml_namestring(a, path);
}

void aml_device(struct aml *a, const char *name)
{
    aml_u8(a, EXT_OP_PREFIX);
    aml_u8(a, DEVICE_OP);
    open_construct(a, AML_OPEN_PKG);
    aml_namestring(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned nargs,
                bool serialized)
{
    if (nargs > 7) {
        fail(a, -EINVAL);
        return;
    }
    aml_u8(a, METHOD_OP);
    open_construct(a, AML_OPEN_PKG);
    aml_namestring(a, name);
    /* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, 7:4 SyncLevel 0. */
    aml_u8(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_if(struct aml *a)
{
    aml_u8(a, IF_OP);
    open_construct(a, AML_OPEN_IF);
}

void aml_else(struct aml *a)
{
    if (!a->err && a->len != a->after_if) {
        fail(a, -EINVAL); /* an Else belongs right after its If */
        return;
    }
    aml_u8(a, ELSE_OP);
    open_construct(a, AML_OPEN_PKG);
}

void aml_buffer_open(struct aml *a)
{
    aml_u8(a, BUFFER_OP);
    open_construct(a, AML_OPEN_BUFFER);
}

void aml_package(struct aml *a, uint8_t count)
{
    aml_u8(a, PACKAGE_OP);
    open_construct(a, AML_OPEN_PKG);
    aml_u8(a, count); /* NumElements */
}

void aml_restemplate(struct aml *a)
{
    aml_u8(a, BUFFER_OP);
    open_construct(a, AML_OPEN_RESTEMPLATE);
}

void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base,
                        uint32_t len)
{
    if (!a->err && (!a->depth ||
                    a->open[a->depth - 1].kind != AML_OPEN_RESTEMPLATE)) {
        fail(a, -EINVAL); /* descriptors only inside a ResourceTemplate */
        return;
    }
    aml_u8(a, RES_MEMORY32_FIXED);
    aml_le16(a, MEMORY32_FIXED_BODY);
    aml_u8(a, writable ? 1 : 0); /* information byte, bit 0: read/write */
    aml_le32(a, base);
    aml_le32(a, len);
}
