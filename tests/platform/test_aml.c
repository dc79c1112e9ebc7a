/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the AML encoder: each encoding against the ACPI spec. */
#include "platform/aml.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BIG (1u << 24)

/* Take the bytes out of @a and compare them with @exp. */
static void expect_bytes(struct aml *a, const uint8_t *exp, size_t n)
{
    uint8_t *data;
    size_t len;

    assert_int_equal(aml_take(a, &data, &len), 0);
    assert_int_equal(len, n);
    if (n)
        assert_memory_equal(data, exp, n);
    free(data);
}

#define EXPECT(a, ...) do { \
        static const uint8_t exp_[] = { __VA_ARGS__ }; \
        expect_bytes((a), exp_, sizeof(exp_)); \
    } while (0)

static void expect_error(struct aml *a, int err)
{
    uint8_t *data = (uint8_t *)&data; /* must stay untouched */
    size_t len = 12345;

    assert_int_equal(aml_take(a, &data, &len), err);
    assert_ptr_equal(data, (uint8_t *)&data);
    assert_int_equal(len, 12345);
}

/* Decode a PkgLength independently of the encoder. */
static uint32_t pkglen_decode(const uint8_t *p, unsigned *n)
{
    unsigned extra = p[0] >> 6;
    uint32_t v;

    *n = extra + 1;
    if (!extra)
        return p[0] & 0x3F;
    v = p[0] & 0x0F;
    for (unsigned i = 1; i <= extra; i++)
        v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    return v;
}

/* ------------------------------------------------------------ PkgLength */

static void check_encode(uint32_t total, unsigned n, const uint8_t *exp)
{
    uint8_t out[4] = { 0 };
    unsigned got = aml_pkglen_encode(out, total), dn;

    assert_int_equal(got, n);
    assert_memory_equal(out, exp, n);
    assert_int_equal(pkglen_decode(out, &dn), total);
    assert_int_equal(dn, n);
}

static void test_pkglen_encode_boundaries(void **state)
{
    uint8_t out[4];
    (void)state;

    check_encode(0, 1, (const uint8_t[]){ 0x00 });
    check_encode(63, 1, (const uint8_t[]){ 0x3F });
    /* 64: two bytes, lead 01b<<6 | low nibble 0, then 64 >> 4 = 4 */
    check_encode(64, 2, (const uint8_t[]){ 0x40, 0x04 });
    check_encode(65, 2, (const uint8_t[]){ 0x41, 0x04 });
    check_encode(4095, 2, (const uint8_t[]){ 0x4F, 0xFF });
    check_encode(4096, 3, (const uint8_t[]){ 0x80, 0x00, 0x01 });
    check_encode(0xFFFFF, 3, (const uint8_t[]){ 0x8F, 0xFF, 0xFF });
    check_encode(0x100000, 4, (const uint8_t[]){ 0xC0, 0x00, 0x00, 0x01 });
    check_encode(0x1234567, 4, (const uint8_t[]){ 0xC7, 0x56, 0x34, 0x12 });
    check_encode(0xFFFFFFF, 4, (const uint8_t[]){ 0xCF, 0xFF, 0xFF, 0xFF });
    assert_int_equal(aml_pkglen_encode(out, 0x10000000), 0);
    assert_int_equal(aml_pkglen_encode(out, UINT32_MAX), 0);
}

/* The value counts the PkgLength's own bytes, so growing the encoding by a
 * byte can push the value over the next limit. */
static void check_payload(size_t payload, unsigned n)
{
    uint8_t out[4];
    unsigned dn;

    assert_int_equal(aml_pkglen_for_payload(out, payload), n);
    assert_int_equal(pkglen_decode(out, &dn), payload + n);
    assert_int_equal(dn, n);
}

static void test_pkglen_payload_boundaries(void **state)
{
    uint8_t out[4];
    (void)state;

    check_payload(0, 1);
    check_payload(62, 1);            /* 63 fits one byte */
    check_payload(63, 2);            /* 64 does not: 65 in two */
    check_payload(4093, 2);          /* 4095 */
    check_payload(4094, 3);          /* 4096 would not fit: 4097 */
    check_payload(0xFFFFF - 3, 3);
    check_payload(0xFFFFF - 2, 4);
    check_payload(0xFFFFFFF - 4, 4);
    assert_int_equal(aml_pkglen_for_payload(out, 0xFFFFFFF - 3), 0);
    assert_int_equal(aml_pkglen_for_payload(out, SIZE_MAX), 0);
}

/* A Buffer's PkgLength, measured on the encoder's output, at sizes around
 * each boundary. */
static void test_pkglen_in_constructs(void **state)
{
    static const size_t sizes[] = { 0, 58, 59, 60, 61, 4000, 4090, 4091,
                                    4092, 4093, 0xFFFF0, 0xFFFFA, 0xFFFFB,
                                    0xFFFFC, 0x100000 };
    (void)state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct aml a;
        uint8_t *data, *zeros = calloc(1, sizes[i] + 1);
        size_t len;
        unsigned n;

        assert_non_null(zeros);
        aml_init(&a, BIG);
        aml_buffer(&a, zeros, sizes[i]);
        assert_int_equal(aml_take(&a, &data, &len), 0);
        assert_int_equal(data[0], 0x11);
        /* Everything after the opcode is inside the package. */
        assert_int_equal(pkglen_decode(data + 1, &n), len - 1);
        free(data);
        free(zeros);
    }
}

/* ------------------------------------------------------------- integers */

static void check_integer(uint64_t v, const uint8_t *exp, size_t n)
{
    struct aml a;

    aml_init(&a, 64);
    aml_integer(&a, v);
    expect_bytes(&a, exp, n);
}

#define CHECK_INT(v, ...) do { \
        static const uint8_t e_[] = { __VA_ARGS__ }; \
        check_integer((v), e_, sizeof(e_)); \
    } while (0)

static void test_integers(void **state)
{
    (void)state;
    CHECK_INT(0, 0x00);                                   /* Zero */
    CHECK_INT(1, 0x01);                                   /* One */
    CHECK_INT(UINT64_MAX, 0xFF);                          /* Ones */
    CHECK_INT(2, 0x0A, 0x02);
    CHECK_INT(0x0F, 0x0A, 0x0F);
    CHECK_INT(0xFF, 0x0A, 0xFF);
    CHECK_INT(0x100, 0x0B, 0x00, 0x01);
    CHECK_INT(0xFFFF, 0x0B, 0xFF, 0xFF);
    CHECK_INT(0x10000, 0x0C, 0x00, 0x00, 0x01, 0x00);
    CHECK_INT(0xFED40000, 0x0C, 0x00, 0x00, 0xD4, 0xFE);
    CHECK_INT(0xFFFFFFFF, 0x0C, 0xFF, 0xFF, 0xFF, 0xFF);
    CHECK_INT(0x100000000ull, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
    CHECK_INT(0x0102030405060708ull, 0x0E, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01);
    CHECK_INT(UINT64_MAX - 1, 0x0E, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
}

static void test_raw_little_endian(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_u8(&a, 0xAA);
    aml_le16(&a, 0x1234);
    aml_le32(&a, 0xDEADBEEF);
    aml_le64(&a, 0x0102030405060708ull);
    EXPECT(&a, 0xAA, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE,
           0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01);
}

/* ---------------------------------------------------------------- names */

static void check_name(const char *path, const uint8_t *exp, size_t n)
{
    struct aml a;

    aml_init(&a, 256);
    aml_namestring(&a, path);
    expect_bytes(&a, exp, n);
}

#define CHECK_NAME(p, ...) do { \
        static const uint8_t e_[] = { __VA_ARGS__ }; \
        check_name((p), e_, sizeof(e_)); \
    } while (0)

static void test_names(void **state)
{
    (void)state;
    CHECK_NAME("TPM", 'T', 'P', 'M', '_');
    CHECK_NAME("_HID", '_', 'H', 'I', 'D');
    CHECK_NAME("A", 'A', '_', '_', '_');
    CHECK_NAME("\\_SB", 0x5C, '_', 'S', 'B', '_');
    CHECK_NAME("_SB.PCI0", 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
    CHECK_NAME("\\_SB.PCI0.ISA", 0x5C, 0x2F, 3, '_', 'S', 'B', '_',
               'P', 'C', 'I', '0', 'I', 'S', 'A', '_');
    CHECK_NAME("^^FOO", 0x5E, 0x5E, 'F', 'O', 'O', '_');
    CHECK_NAME("", 0x00);
    CHECK_NAME("\\", 0x5C, 0x00);
}

static void test_bad_names(void **state)
{
    static const char *const bad[] = {
        "tpm", "TOOLONG", "A..B", "1ABC", "A.", ".A", "A-B", "\\^A", "A B",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct aml a;

        aml_init(&a, 256);
        aml_namestring(&a, bad[i]);
        expect_error(&a, -EINVAL);
    }
}

/* ------------------------------------------------------ strings, buffers */

static void test_string(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_string(&a, "MSFT0101");
    EXPECT(&a, 0x0D, 'M', 'S', 'F', 'T', '0', '1', '0', '1', 0x00);

    aml_init(&a, 64);
    aml_string(&a, "");
    EXPECT(&a, 0x0D, 0x00);

    aml_init(&a, 64);
    aml_string(&a, "caf\xc3\xa9");
    expect_error(&a, -EINVAL);
}

static void test_unicode(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_unicode(&a, "AB");
    /* Buffer, PkgLength 9, BufferSize 6, UTF-16LE "AB", NUL */
    EXPECT(&a, 0x11, 0x09, 0x0A, 0x06, 'A', 0, 'B', 0, 0, 0);
}

static void test_buffer(void **state)
{
    static const uint8_t three = 0x03;
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_buffer(&a, &three, 1);
    EXPECT(&a, 0x11, 0x03, 0x01, 0x03); /* BufferSize is the One opcode */

    aml_init(&a, 64);
    aml_buffer(&a, NULL, 0);
    EXPECT(&a, 0x11, 0x02, 0x00); /* BufferSize Zero */
}

/* ToUUID: the first three groups are stored little-endian, the last two
 * in the order written. */
static void test_uuid(void **state)
{
    static const uint8_t crb_start[16] = {
        0xab, 0x6c, 0xbf, 0x6b, 0x63, 0x54, 0x14, 0x47,
        0xb7, 0xcd, 0xf0, 0x20, 0x3c, 0x03, 0x68, 0xd4,
    };
    static const uint8_t ordered[16] = {
        0x03, 0x02, 0x01, 0x00, 0x05, 0x04, 0x07, 0x06,
        0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    };
    uint8_t out[16];
    struct aml a;
    (void)state;

    assert_int_equal(aml_uuid_bytes("6bbf6cab-5463-4714-b7cd-f0203c0368d4", out), 0);
    assert_memory_equal(out, crb_start, 16);
    assert_int_equal(aml_uuid_bytes("6BBF6CAB-5463-4714-B7CD-F0203C0368D4", out), 0);
    assert_memory_equal(out, crb_start, 16);
    assert_int_equal(aml_uuid_bytes("00010203-0405-0607-0809-0a0b0c0d0e0f", out), 0);
    assert_memory_equal(out, ordered, 16);

    aml_init(&a, 64);
    aml_uuid(&a, "6bbf6cab-5463-4714-b7cd-f0203c0368d4");
    EXPECT(&a, 0x11, 0x13, 0x0A, 0x10,
           0xab, 0x6c, 0xbf, 0x6b, 0x63, 0x54, 0x14, 0x47,
           0xb7, 0xcd, 0xf0, 0x20, 0x3c, 0x03, 0x68, 0xd4);
}

static void test_bad_uuid(void **state)
{
    static const char *const bad[] = {
        "", "6bbf6cab-5463-4714-b7cd-f0203c0368d",
        "6bbf6cab-5463-4714-b7cd-f0203c0368d44",
        "6bbf6cab5463-4714-b7cd-f0203c0368d4-",
        "6bbf6cab-5463-4714-b7cd_f0203c0368d4",
        "6bbf6cag-5463-4714-b7cd-f0203c0368d4",
        "6bbf6cab-5463-4714-b7cd-f0203c0368 4",
    };
    uint8_t out[16];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct aml a;

        assert_int_equal(aml_uuid_bytes(bad[i], out), -EINVAL);
        aml_init(&a, 64);
        aml_uuid(&a, bad[i]);
        expect_error(&a, -EINVAL);
    }
}

/* ----------------------------------------------------------- operators */

static void test_args_and_operators(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    for (unsigned i = 0; i <= 6; i++)
        aml_arg(&a, i);
    aml_return(&a);
    aml_lequal(&a);
    aml_name(&a, "_UID");
    EXPECT(&a, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0xA4, 0x93,
           0x08, '_', 'U', 'I', 'D');

    aml_init(&a, 64);
    aml_arg(&a, 7);
    expect_error(&a, -EINVAL);
}

static void test_method_flags(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_method(&a, "_DSM", 4, false);
    aml_end(&a);
    EXPECT(&a, 0x14, 0x06, '_', 'D', 'S', 'M', 0x04);

    aml_init(&a, 64);
    aml_method(&a, "_STA", 0, true);
    aml_return(&a);
    aml_integer(&a, 0x0F);
    aml_end(&a);
    EXPECT(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x08, 0xA4, 0x0A, 0x0F);

    aml_init(&a, 64);
    aml_method(&a, "M7", 7, true);
    aml_end(&a);
    EXPECT(&a, 0x14, 0x06, 'M', '7', '_', '_', 0x0F);

    aml_init(&a, 64);
    aml_method(&a, "BAD", 8, false);
    expect_error(&a, -EINVAL);
}

static void test_scope_device(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_scope(&a, "\\_SB");
    aml_device(&a, "TPM");
    aml_name(&a, "_UID");
    aml_integer(&a, 1);
    aml_end(&a);
    aml_end(&a);
    EXPECT(&a, 0x10, 0x13, 0x5C, '_', 'S', 'B', '_',
           0x5B, 0x82, 0x0B, 'T', 'P', 'M', '_',
           0x08, '_', 'U', 'I', 'D', 0x01);
}

static void test_if_else(void **state)
{
    struct aml a;
    (void)state;

    /* If (Arg2 == One) { Return (Zero) } Else { Return (One) } */
    aml_init(&a, 64);
    aml_if(&a);
    aml_lequal(&a); aml_arg(&a, 2); aml_integer(&a, 1);
    aml_return(&a); aml_integer(&a, 0);
    aml_end(&a);
    aml_else(&a);
    aml_return(&a); aml_integer(&a, 1);
    aml_end(&a);
    EXPECT(&a, 0xA0, 0x06, 0x93, 0x6A, 0x01, 0xA4, 0x00,
           0xA1, 0x03, 0xA4, 0x01);

    /* An Else anywhere but right after an If is a builder bug. */
    aml_init(&a, 64);
    aml_else(&a);
    expect_error(&a, -EINVAL);

    aml_init(&a, 64);
    aml_if(&a);
    aml_integer(&a, 1);
    aml_end(&a);
    aml_integer(&a, 0);
    aml_else(&a);
    expect_error(&a, -EINVAL);
}

static void test_package(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_package(&a, 2);
    aml_integer(&a, 0x10);
    aml_string(&a, "A");
    aml_end(&a);
    EXPECT(&a, 0x12, 0x07, 0x02, 0x0A, 0x10, 0x0D, 'A', 0x00);
}

/* ------------------------------------------------------ resource template */

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

static void test_restemplate_memory32(void **state)
{
    struct aml a;
    uint8_t *data;
    size_t len;
    (void)state;

    aml_init(&a, 128);
    aml_restemplate(&a);
    aml_memory32_fixed(&a, true, 0xFED40000, 0x5000);
    aml_memory32_fixed(&a, false, 0xFED45000, 0x1000);
    aml_end(&a);
    assert_int_equal(aml_take(&a, &data, &len), 0);
    {
        static const uint8_t exp[] = {
            0x11, 0x1D, 0x0A, 0x1A,
            0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xD4, 0xFE, 0x00, 0x50, 0x00, 0x00,
            0x86, 0x09, 0x00, 0x00, 0x00, 0x50, 0xD4, 0xFE, 0x00, 0x10, 0x00, 0x00,
            0x79, 0x14,
        };
        assert_int_equal(len, sizeof(exp));
        assert_memory_equal(data, exp, sizeof(exp));
    }
    /* The EndTag checksum makes the descriptor bytes sum to zero. */
    assert_int_equal(sum_bytes(data + 4, len - 4), 0);
    free(data);
}

static void test_restemplate_empty(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_restemplate(&a);
    aml_end(&a);
    EXPECT(&a, 0x11, 0x05, 0x0A, 0x02, 0x79, 0x87); /* 0x79 + 0x87 = 0x100 */
}

static void test_memory32_outside_template(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_memory32_fixed(&a, true, 0, 0x1000);
    expect_error(&a, -EINVAL);

    aml_init(&a, 64);
    aml_restemplate(&a);
    aml_buffer_open(&a);
    aml_memory32_fixed(&a, true, 0, 0x1000);
    expect_error(&a, -EINVAL);
}

/* ------------------------------------------------------------- errors */

static void test_nesting_errors(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_end(&a);
    expect_error(&a, -EINVAL);

    aml_init(&a, 64);
    aml_scope(&a, "\\_SB");
    expect_error(&a, -EINVAL); /* never closed */

    aml_init(&a, 4096);
    for (unsigned i = 0; i <= AML_MAX_DEPTH; i++)
        aml_scope(&a, "A");
    expect_error(&a, -EINVAL);

    aml_init(&a, 4096); /* exactly the maximum depth is fine */
    for (unsigned i = 0; i < AML_MAX_DEPTH; i++)
        aml_scope(&a, "A");
    for (unsigned i = 0; i < AML_MAX_DEPTH; i++)
        aml_end(&a);
    {
        uint8_t *data;
        size_t len;

        assert_int_equal(aml_take(&a, &data, &len), 0);
        free(data);
    }
}

/* The bound holds exactly and nothing is truncated silently. */
static void test_bound(void **state)
{
    static const uint8_t eight[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct aml a;
    (void)state;

    aml_init(&a, 8);
    aml_bytes(&a, eight, 8);
    expect_bytes(&a, eight, 8);

    aml_init(&a, 8);
    aml_bytes(&a, eight, 8);
    aml_u8(&a, 9);
    expect_error(&a, -E2BIG);

    /* Closing a construct inserts its PkgLength: that must fit too. */
    aml_init(&a, 8);
    aml_scope(&a, "ABCD");  /* 1 + 4 bytes */
    aml_integer(&a, 0x1234); /* 3 bytes: 8 in all before the PkgLength */
    aml_end(&a);
    expect_error(&a, -E2BIG);

    aml_init(&a, 0);
    aml_integer(&a, 0);
    expect_error(&a, -E2BIG);
}

/* The first error sticks: later calls neither add bytes nor replace it. */
static void test_error_is_sticky(void **state)
{
    struct aml a;
    (void)state;

    aml_init(&a, 64);
    aml_integer(&a, 5);
    aml_namestring(&a, "bad");
    aml_u8(&a, 1);
    aml_scope(&a, "\\_SB");
    aml_end(&a);
    aml_end(&a); /* would be -EINVAL for a different reason */
    assert_int_equal(a.err, -EINVAL);
    assert_int_equal(a.len, 2);
    expect_error(&a, -EINVAL);
}

static void test_take_empty_and_free(void **state)
{
    struct aml a;
    uint8_t *data = (uint8_t *)1;
    size_t len = 1;
    (void)state;

    aml_init(&a, 64);
    assert_int_equal(aml_take(&a, &data, &len), 0);
    assert_null(data);
    assert_int_equal(len, 0);

    aml_init(&a, 64);
    aml_string(&a, "something");
    aml_free(&a); /* no leak under ASan */
    assert_int_equal(a.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkglen_encode_boundaries),
        cmocka_unit_test(test_pkglen_payload_boundaries),
        cmocka_unit_test(test_pkglen_in_constructs),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_raw_little_endian),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_bad_uuid),
        cmocka_unit_test(test_args_and_operators),
        cmocka_unit_test(test_method_flags),
        cmocka_unit_test(test_scope_device),
        cmocka_unit_test(test_if_else),
        cmocka_unit_test(test_package),
        cmocka_unit_test(test_restemplate_memory32),
        cmocka_unit_test(test_restemplate_empty),
        cmocka_unit_test(test_memory32_outside_template),
        cmocka_unit_test(test_nesting_errors),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_take_empty_and_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
