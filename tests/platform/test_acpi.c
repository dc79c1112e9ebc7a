/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the platform description: TPM2 table and SSDT bytes,
 * option validation. Field offsets from the TCG ACPI Specification. */
#include "tpmcrb.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CRB_DSM_UUID_BYTES 0xab, 0x6c, 0xbf, 0x6b, 0x63, 0x54, 0x14, 0x47, \
                           0xb7, 0xcd, 0xf0, 0x20, 0x3c, 0x03, 0x68, 0xd4

static char last_error[512];

static void capture_log(enum tpmcrb_log_level level, const char *msg,
                        void *opaque)
{
    (void)opaque;
    if (level == TPMCRB_LOG_ERROR)
        snprintf(last_error, sizeof(last_error), "%s", msg);
}

static int setup(void **state)
{
    (void)state;
    last_error[0] = 0;
    tpmcrb_log_set(TPMCRB_LOG_ERROR, capture_log, NULL);
    return 0;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t byte_sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

struct tables {
    uint8_t *tpm2, *ssdt;
    size_t tpm2_len, ssdt_len;
};

static void build(const struct tpmcrb_acpi_options *o, struct tables *t)
{
    assert_int_equal(tpmcrb_acpi_build(o, &t->tpm2, &t->tpm2_len,
                                       &t->ssdt, &t->ssdt_len), 0);
}

static void release(struct tables *t)
{
    free(t->tpm2);
    free(t->ssdt);
}

/* Every header field. */
static void check_header(const uint8_t *t, size_t len, const char *sig,
                         uint8_t rev, const char *oem_id,
                         const char *oem_table_id, uint32_t oem_rev)
{
    assert_memory_equal(t, sig, 4);
    assert_int_equal(le32(t + 4), len);
    assert_int_equal(t[8], rev);
    assert_int_equal(byte_sum(t, len), 0); /* checksum at 9 */
    assert_memory_equal(t + 10, oem_id, 6);
    assert_memory_equal(t + 16, oem_table_id, 8);
    assert_int_equal(le32(t + 24), oem_rev);
    assert_memory_equal(t + 28, "TCRB", 4);
    assert_int_equal(le32(t + 32), 1);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle,
                           size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (!memcmp(hay + i, needle, m))
            return hay + i;
    return NULL;
}

static size_t count(const uint8_t *hay, size_t n, const void *needle,
                    size_t m)
{
    size_t c = 0;
    const uint8_t *p;

    while ((p = find(hay, n, needle, m))) {
        c++;
        n -= (size_t)(p - hay) + 1;
        hay = p + 1;
    }
    return c;
}

/* ------------------------------------------------------------- options */

static void test_options_init(void **state)
{
    struct tpmcrb_acpi_options o;
    (void)state;

    memset(&o, 0xA5, sizeof(o));
    tpmcrb_acpi_options_init(&o);
    assert_int_equal(o.base, 0xFED40000);
    assert_int_equal(o.layout, TPMCRB_LAYOUT_SPLIT);
    assert_int_equal(o.localities, 5);
    assert_int_equal(o.start_method, 7);
    assert_int_equal(o.log_area_min_len, 0);
    assert_int_equal(o.log_area_addr, 0);
    assert_string_equal(o.oem_id, "TPMCRB");
    assert_string_equal(o.oem_table_id, "TPMCRB");
    assert_int_equal(o.oem_revision, 1);
}

/* ---------------------------------------------------------------- TPM2 */

static void test_tpm2_default(void **state)
{
    static const uint8_t zero12[12];
    struct tpmcrb_acpi_options o;
    struct tables t;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    build(&o, &t);
    /* Without a log area the table ends after the start method
     * parameters: 36 header + 2 + 2 + 8 + 4 + 12. */
    assert_int_equal(t.tpm2_len, 64);
    check_header(t.tpm2, t.tpm2_len, "TPM2", 4, "TPMCRB", "TPMCRB  ", 1);
    assert_int_equal(le16(t.tpm2 + 36), 0);            /* client */
    assert_int_equal(le16(t.tpm2 + 38), 0);            /* reserved */
    assert_int_equal(le64(t.tpm2 + 40), 0xFED40040);   /* base + 0x40 */
    assert_int_equal(le32(t.tpm2 + 48), 7);
    assert_memory_equal(t.tpm2 + 52, zero12, 12);
    release(&t);
}

static void test_tpm2_log_area_and_ids(void **state)
{
    static const uint8_t zero12[12];
    struct tpmcrb_acpi_options o;
    struct tables t;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    o.base = 0x0C000000;
    o.start_method = 8;
    o.log_area_min_len = 0x10000;
    o.log_area_addr = 0x123456789000ull;
    strcpy(o.oem_id, "AB");
    strcpy(o.oem_table_id, "XYZW1234");
    o.oem_revision = 0xA0B0C0D0;
    build(&o, &t);
    assert_int_equal(t.tpm2_len, 76);
    check_header(t.tpm2, t.tpm2_len, "TPM2", 4, "AB    ", "XYZW1234",
                 0xA0B0C0D0);
    assert_int_equal(le64(t.tpm2 + 40), 0x0C000040);
    assert_int_equal(le32(t.tpm2 + 48), 8);
    assert_memory_equal(t.tpm2 + 52, zero12, 12);
    assert_int_equal(le32(t.tpm2 + 64), 0x10000);              /* LAML */
    assert_int_equal(le64(t.tpm2 + 68), 0x123456789000ull);    /* LASA */
    /* The SSDT carries the same IDs. */
    check_header(t.ssdt, t.ssdt_len, "SSDT", 2, "AB    ", "XYZW1234",
                 0xA0B0C0D0);
    release(&t);
}

static void test_empty_ids_mean_default(void **state)
{
    struct tpmcrb_acpi_options o;
    struct tables t;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    o.oem_id[0] = 0;
    o.oem_table_id[0] = 0;
    build(&o, &t);
    check_header(t.tpm2, t.tpm2_len, "TPM2", 4, "TPMCRB", "TPMCRB  ", 1);
    check_header(t.ssdt, t.ssdt_len, "SSDT", 2, "TPMCRB", "TPMCRB  ", 1);
    release(&t);
}

/* ---------------------------------------------------------------- SSDT */

/* x86 default, split layout, five localities, start method 8: every byte
 * of the AML (checked against `iasl -d` when written). */
static void test_ssdt_golden(void **state)
{
    static const uint8_t body[] = {
        0x10, 0x49, 0x0B, '\\', '_', 'S', 'B', '_',     /* Scope (\_SB), 185 */
        0x5B, 0x82, 0x40, 0x0B, 'T', 'P', 'M', '_',     /* Device (TPM), 176 */
        0x08, '_', 'H', 'I', 'D', 0x0D, 'M', 'S', 'F', 'T', '0', '1', '0', '1', 0,
        0x08, '_', 'C', 'I', 'D', 0x0D, 'M', 'S', 'F', 'T', '0', '1', '0', '1', 0,
        0x08, '_', 'S', 'T', 'R', 0x11, 0x21, 0x0A, 0x1E, /* Unicode, 30 bytes */
        'T', 0, 'P', 0, 'M', 0, ' ', 0, '2', 0, '.', 0, '0', 0, ' ', 0,
        'D', 0, 'e', 0, 'v', 0, 'i', 0, 'c', 0, 'e', 0, 0, 0,
        0x08, '_', 'U', 'I', 'D', 0x01,                 /* One */
        0x08, '_', 'S', 'T', 'A', 0x0A, 0x0F,
        0x08, '_', 'C', 'R', 'S', 0x11, 0x1D, 0x0A, 0x1A,
        0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xD4, 0xFE, 0x00, 0x50, 0x00, 0x00,
        0x86, 0x09, 0x00, 0x01, 0x00, 0x50, 0xD4, 0xFE, 0x00, 0x10, 0x00, 0x00,
        0x79, 0x13,                                     /* EndTag, checksum */
        0x14, 0x34, '_', 'D', 'S', 'M', 0x04,           /* 4 args, not serialized */
        0xA0, 0x28, 0x93, 0x68,                         /* If (Arg0 == */
        0x11, 0x13, 0x0A, 0x10, CRB_DSM_UUID_BYTES,     /*     ToUUID(...)) */
        0xA0, 0x09, 0x93, 0x6A, 0x00,                   /* If (Arg2 == Zero) */
        0xA4, 0x11, 0x03, 0x01, 0x03,                   /* Return (Buffer{3}) */
        0xA0, 0x06, 0x93, 0x6A, 0x01,                   /* If (Arg2 == One) */
        0xA4, 0x00,                                     /* Return (Zero) */
        0xA4, 0x11, 0x03, 0x01, 0x00,                   /* Return (Buffer{0}) */
    };
    struct tpmcrb_acpi_options o;
    struct tables t;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    o.start_method = 8;
    build(&o, &t);
    check_header(t.ssdt, t.ssdt_len, "SSDT", 2, "TPMCRB", "TPMCRB  ", 1);
    assert_int_equal(t.ssdt_len, 36 + sizeof(body));
    assert_memory_equal(t.ssdt + 36, body, sizeof(body));
    /* Scope's PkgLength spans the rest of the table, Device's too. */
    assert_int_equal(0x9 | 0x0B << 4, sizeof(body) - 1);
    assert_int_equal(0x0 | 0x0B << 4, sizeof(body) - 10);
    release(&t);
}

/* The _CRS ranges: the register pages, then (split) the buffer page. */
static void check_crs(const struct tables *t, uint32_t base,
                      unsigned localities, bool split)
{
    uint8_t regs[12] = { 0x86, 0x09, 0x00, 0x01 }, buf[12];
    const uint8_t *p;

    for (unsigned i = 0; i < 4; i++) {
        regs[4 + i] = (uint8_t)(base >> (8 * i));
        regs[8 + i] = (uint8_t)((localities * 0x1000u) >> (8 * i));
    }
    memcpy(buf, regs, 4);
    for (unsigned i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)((base + localities * 0x1000u) >> (8 * i));
        buf[8 + i] = (uint8_t)(0x1000u >> (8 * i));
    }
    assert_int_equal(count(t->ssdt, t->ssdt_len, "\x86\x09\x00", 3),
                     split ? 2 : 1);
    p = find(t->ssdt, t->ssdt_len, regs, sizeof(regs));
    assert_non_null(p);
    if (split) {
        assert_memory_equal(p + 12, buf, sizeof(buf));
        p += 12;
    }
    /* EndTag right after the last descriptor; from the first descriptor
     * through the EndTag's checksum the template sums to 0. */
    assert_int_equal(p[12], 0x79);
    assert_int_equal(byte_sum(split ? p - 12 : p, split ? 26 : 14), 0);
}

static void check_dsm(const struct tables *t, bool present)
{
    static const uint8_t uuid[] = { CRB_DSM_UUID_BYTES };

    if (!present) {
        assert_null(find(t->ssdt, t->ssdt_len, "_DSM", 4));
        assert_null(find(t->ssdt, t->ssdt_len, uuid, sizeof(uuid)));
        return;
    }
    assert_non_null(find(t->ssdt, t->ssdt_len, "\x14\x34_DSM\x04", 7));
    assert_non_null(find(t->ssdt, t->ssdt_len, uuid, sizeof(uuid)));
}

/* The buffer the device advertises in CMD/RSP_ADDR lies in a _CRS range:
 * its own page right after the registers (split), or inside locality 0's
 * page (compat), where Linux finds it without a range of its own. */
static void check_buffer_described(const struct tpmcrb_acpi_options *o)
{
    struct tpmcrb_config cfg;
    uint64_t buf, end;

    tpmcrb_config_init(&cfg);
    cfg.base = o->base;
    cfg.layout = o->layout;
    cfg.localities = o->localities;
    buf = tpmcrb_buffer_addr(&cfg);
    end = buf + tpmcrb_buffer_size(&cfg);
    if (o->layout == TPMCRB_LAYOUT_SPLIT) {
        assert_int_equal(buf, o->base + o->localities * 0x1000ull);
        assert_int_equal(end, buf + 0x1000);
    } else {
        assert_true(buf >= o->base && end <= o->base + 0x1000);
    }
}

static void test_ssdt_matrix(void **state)
{
    static const uint64_t bases[] = { 0xFED40000, 0x0C000000, 0x1000 };
    (void)state;

    for (size_t b = 0; b < 3; b++)
        for (unsigned sm = 7; sm <= 8; sm++)
            for (int split = 0; split <= 1; split++)
                for (unsigned loc = 1; loc <= 5; loc += 4) {
                    struct tpmcrb_acpi_options o;
                    struct tables t;

                    tpmcrb_acpi_options_init(&o);
                    o.base = bases[b];
                    o.start_method = sm;
                    o.layout = split ? TPMCRB_LAYOUT_SPLIT : TPMCRB_LAYOUT_COMPAT;
                    o.localities = loc;
                    build(&o, &t);
                    check_header(t.ssdt, t.ssdt_len, "SSDT", 2, "TPMCRB",
                                 "TPMCRB  ", 1);
                    assert_int_equal(le64(t.tpm2 + 40), bases[b] + 0x40);
                    assert_int_equal(le32(t.tpm2 + 48), sm);
                    assert_int_equal(byte_sum(t.tpm2, t.tpm2_len), 0);
                    assert_non_null(find(t.ssdt, t.ssdt_len,
                                         "_HID\x0dMSFT0101", 13));
                    assert_non_null(find(t.ssdt, t.ssdt_len,
                                         "\x5b\x82", 2));
                    check_crs(&t, (uint32_t)bases[b], loc, split);
                    check_buffer_described(&o);
                    check_dsm(&t, sm == 8);
                    release(&t);
                }
}

/* The window may end exactly at 4 GiB. */
static void test_window_at_4gib(void **state)
{
    struct tpmcrb_acpi_options o;
    struct tables t;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    o.base = 0x100000000ull - 0x6000; /* 5 register pages + buffer page */
    build(&o, &t);
    check_crs(&t, (uint32_t)o.base, 5, true);
    release(&t);

    o.layout = TPMCRB_LAYOUT_COMPAT;
    o.localities = 1;
    o.base = 0xFFFFF000;
    build(&o, &t);
    check_crs(&t, 0xFFFFF000, 1, false);
    release(&t);
}

/* ---------------------------------------------------------- validation */

static void expect_invalid(const struct tpmcrb_acpi_options *o,
                           const char *why)
{
    uint8_t *tpm2 = (uint8_t *)&tpm2, *ssdt = (uint8_t *)&ssdt;
    size_t tpm2_len = 1, ssdt_len = 2;

    last_error[0] = 0;
    assert_int_equal(tpmcrb_acpi_build(o, &tpm2, &tpm2_len, &ssdt, &ssdt_len),
                     -EINVAL);
    /* Outputs untouched: nothing to free, nothing leaked. */
    assert_ptr_equal(tpm2, (uint8_t *)&tpm2);
    assert_ptr_equal(ssdt, (uint8_t *)&ssdt);
    assert_int_equal(tpm2_len, 1);
    assert_int_equal(ssdt_len, 2);
    if (!strstr(last_error, why))
        fail_msg("error message '%s' does not mention '%s'", last_error, why);
}

#define INVALID(field, value, why) do { \
        struct tpmcrb_acpi_options o_; \
        tpmcrb_acpi_options_init(&o_); \
        o_.field = (value); \
        expect_invalid(&o_, (why)); \
    } while (0)

static void test_invalid_options(void **state)
{
    struct tpmcrb_acpi_options o;
    (void)state;

    INVALID(start_method, 0, "start method");
    INVALID(start_method, 2, "start method");
    INVALID(start_method, 6, "start method");
    INVALID(start_method, 9, "start method");
    INVALID(start_method, 11, "start method");
    INVALID(localities, 0, "localities");
    INVALID(localities, 2, "localities");
    INVALID(localities, 4, "localities");
    INVALID(localities, 6, "localities");
    INVALID(layout, (enum tpmcrb_layout)2, "layout");
    INVALID(layout, (enum tpmcrb_layout)-1, "layout");
    INVALID(base, 0xFED40001, "aligned");
    INVALID(base, 0xFED40800, "aligned");
    INVALID(base, 0x100000000ull, "4 GiB");
    INVALID(base, 0xFFFFFFFFFFFFF000ull, "4 GiB");
    /* Split, 5 localities: 0x6000 bytes; one page too high. */
    INVALID(base, 0x100000000ull - 0x5000, "4 GiB");
    INVALID(log_area_min_len, 0x10000, "log area");
    INVALID(log_area_addr, 0x1000, "log area");

    tpmcrb_acpi_options_init(&o);
    o.localities = 1; /* split: register page + buffer page */
    o.base = 0xFFFFF000;
    expect_invalid(&o, "4 GiB");

    tpmcrb_acpi_options_init(&o);
    o.log_area_min_len = 0x1000;
    o.log_area_addr = UINT64_MAX - 0x800;
    expect_invalid(&o, "log area");

    tpmcrb_acpi_options_init(&o);
    memcpy(o.oem_id, "SEVENCH", 7); /* no terminating NUL */
    expect_invalid(&o, "OEM ID");

    tpmcrb_acpi_options_init(&o);
    memcpy(o.oem_table_id, "NINECHARS", 9);
    expect_invalid(&o, "OEM table ID");

    tpmcrb_acpi_options_init(&o);
    strcpy(o.oem_id, "A\tB");
    expect_invalid(&o, "OEM ID");
}

static void test_null_arguments(void **state)
{
    struct tpmcrb_acpi_options o;
    uint8_t *a, *b;
    size_t al, bl;
    (void)state;

    tpmcrb_acpi_options_init(&o);
    assert_int_equal(tpmcrb_acpi_build(NULL, &a, &al, &b, &bl), -EINVAL);
    assert_int_equal(tpmcrb_acpi_build(&o, NULL, &al, &b, &bl), -EINVAL);
    assert_int_equal(tpmcrb_acpi_build(&o, &a, NULL, &b, &bl), -EINVAL);
    assert_int_equal(tpmcrb_acpi_build(&o, &a, &al, NULL, &bl), -EINVAL);
    assert_int_equal(tpmcrb_acpi_build(&o, &a, &al, &b, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_options_init, setup),
        cmocka_unit_test_setup(test_tpm2_default, setup),
        cmocka_unit_test_setup(test_tpm2_log_area_and_ids, setup),
        cmocka_unit_test_setup(test_empty_ids_mean_default, setup),
        cmocka_unit_test_setup(test_ssdt_golden, setup),
        cmocka_unit_test_setup(test_ssdt_matrix, setup),
        cmocka_unit_test_setup(test_window_at_4gib, setup),
        cmocka_unit_test_setup(test_invalid_options, setup),
        cmocka_unit_test_setup(test_null_arguments, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
