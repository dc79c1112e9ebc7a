/* SPDX-License-Identifier: BSD-3-Clause */
/* swtpm's state file format: plain and encrypted (128- and 256-bit keys)
 * round trips; every truncation, a wrong key and any flipped byte of an
 * encrypted file are refused with the file named, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tools/state/swtpm_files.h"

#include <stdlib.h>
#include <string.h>

static uint8_t blob[1500];

static void fill(void)
{
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 7 + 3);
}

static struct state_key key_of(size_t len, uint8_t seed)
{
    struct state_key k = { .len = len };

    for (size_t i = 0; i < len; i++)
        k.bytes[i] = (uint8_t)(seed + i);
    strcpy(k.path, "test.key");
    return k;
}

static void roundtrip(const struct state_key *k)
{
    uint8_t *file, *out;
    uint32_t out_len;
    size_t len;

    fill();
    assert_int_equal(swtpm_blob_encode(blob, sizeof(blob), k, &file, &len), 0);
    /* The header: version 2, minimum 1, size 10, total length. */
    assert_int_equal(file[0], 2);
    assert_int_equal(file[1], 1);
    assert_int_equal(file[3], 10);
    assert_int_equal(((uint32_t)file[6] << 24 | (uint32_t)file[7] << 16 |
                      (uint32_t)file[8] << 8 | file[9]), len);
    if (k)
        assert_null(memmem(file, len, blob, 64));
    assert_int_equal(swtpm_blob_decode("f", file, len, k, &out, &out_len), 0);
    assert_int_equal(out_len, sizeof(blob));
    assert_memory_equal(out, blob, sizeof(blob));
    free(out);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut++) {
        out = NULL;
        assert_true(swtpm_blob_decode("f", file, cut, k, &out, &out_len) < 0);
        assert_null(out);
    }
    free(file);
}

static void test_plain(void **state)
{
    (void)state;
    roundtrip(NULL);
}

static void test_aes128(void **state)
{
    struct state_key k = key_of(16, 1);

    (void)state;
    roundtrip(&k);
}

static void test_aes256(void **state)
{
    struct state_key k = key_of(32, 9);

    (void)state;
    roundtrip(&k);
}

static void test_wrong_and_missing_key(void **state)
{
    struct state_key k = key_of(32, 9), other = key_of(32, 10),
                     short_key = key_of(16, 9);
    uint8_t *file, *out = NULL;
    uint32_t out_len;
    size_t len;

    (void)state;
    fill();
    assert_int_equal(swtpm_blob_encode(blob, sizeof(blob), &k, &file, &len), 0);
    assert_true(swtpm_blob_decode("f", file, len, NULL, &out, &out_len) < 0);
    assert_true(swtpm_blob_decode("f", file, len, &other, &out, &out_len) < 0);
    assert_true(swtpm_blob_decode("f", file, len, &short_key, &out, &out_len) < 0);
    assert_null(out);
    free(file);
}

/* Any byte changed after the header: rejected (HMAC, or the records no
 * longer parse), or, in the length fields of the header, refused too. */
static void test_flipped_bytes(void **state)
{
    struct state_key k = key_of(16, 5);
    uint8_t *file, *out;
    uint32_t out_len;
    size_t len;

    (void)state;
    fill();
    assert_int_equal(swtpm_blob_encode(blob, 200, &k, &file, &len), 0);
    for (size_t i = 0; i < len; i++) {
        if (i == 4)
            continue; /* the flags' high byte holds no defined flag */
        file[i] ^= 0x10;
        out = NULL;
        if (swtpm_blob_decode("f", file, len, &k, &out, &out_len) == 0) {
            /* Only a change the format ignores may pass, and then the
             * blob must still be the original. */
            assert_int_equal(out_len, 200);
            assert_memory_equal(out, blob, 200);
            assert_true(i < 10);
        }
        free(out);
        file[i] ^= 0x10;
    }
    free(file);
}

static void test_garbage(void **state)
{
    uint8_t junk[64], *out = NULL;
    uint32_t out_len;

    (void)state;
    memset(junk, 0xff, sizeof(junk));
    assert_true(swtpm_blob_decode("f", junk, sizeof(junk), NULL, &out,
                                  &out_len) < 0);
    /* A valid header whose record claims more than the file holds. */
    memcpy(junk, "\x02\x01\x00\x0a\x00\x00\x00\x00\x00\x40"
                 "\x00\x01\xff\xff\xff\xf0", 16);
    assert_true(swtpm_blob_decode("f", junk, sizeof(junk), NULL, &out,
                                  &out_len) < 0);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_aes128),
        cmocka_unit_test(test_aes256),
        cmocka_unit_test(test_wrong_and_missing_key),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
