/* SPDX-License-Identifier: BSD-3-Clause */
/* The state store's encryption hook: sealed files round-trip, never hold
 * the plaintext, and are refused (named, untouched) without the key, with
 * another key, when plain files meet a key, and when the header or the
 * file name was changed under a valid checksum. A toy cipher stands in
 * for the tools' AES-256-GCM: the store's rules do not depend on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/state_store.h"
#include "test_files.h"
#include "tpm_commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE 0x54455354u
#define TAG  8u
static const char secret[] = "nv-contents-that-must-not-show";

/* XOR stream keyed by one byte, tag = FNV-1a over key, AAD and plaintext. */
static uint64_t toy_tag(uint8_t key, const uint8_t *aad, uint32_t aad_len,
                        const uint8_t *p, uint32_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ key;

    for (uint32_t i = 0; i < aad_len; i++)
        h = (h ^ aad[i]) * 0x100000001b3ull;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int toy_seal(void *opaque, const uint8_t *aad, uint32_t aad_len,
                    const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint8_t key = *(uint8_t *)opaque;
    uint64_t t = toy_tag(key, aad, aad_len, in, len);

    for (uint32_t i = 0; i < len; i++)
        out[i] = in[i] ^ (uint8_t)(key + i);
    memcpy(out + len, &t, TAG);
    return 0;
}

static int toy_open(void *opaque, const uint8_t *aad, uint32_t aad_len,
                    const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint8_t key = *(uint8_t *)opaque;
    uint32_t n = len - TAG;
    uint64_t t;

    for (uint32_t i = 0; i < n; i++)
        out[i] = in[i] ^ (uint8_t)(key + i);
    t = toy_tag(key, aad, aad_len, out, n);
    return memcmp(&t, in + n, TAG) ? -EBADMSG : 0;
}

static uint8_t key_a = 0x5a, key_b = 0xa5;
static const struct state_cipher cipher_a = { TAG, toy_seal, toy_open, &key_a };
static const struct state_cipher cipher_b = { TAG, toy_seal, toy_open, &key_b };

static int setup(void **state)
{
    *state = store_fixture_new();
    assert_non_null(*state);
    return 0;
}

static int teardown(void **state)
{
    state_store_set_cipher(NULL);
    store_fixture_free(*state);
    return 0;
}

static void put(struct store_fixture *f, const char *name)
{
    struct state_info info = { .type = TYPE, .generation = 7, .link = 6,
                               .len = sizeof(secret) };

    assert_int_equal(state_store_write(f->st, name, &info,
                                       (const uint8_t *)secret, true), 0);
}

static int get(struct store_fixture *f, const char *name)
{
    struct state_info info;
    uint8_t *data = NULL;
    int err = state_store_read(f->st, name, TYPE, &data, &info);

    if (err == 0) {
        assert_int_equal(info.len, sizeof(secret));
        assert_int_equal(info.generation, 7);
        assert_memory_equal(data, secret, sizeof(secret));
    }
    free(data);
    return err;
}

static bool holds_secret(struct store_fixture *f, const char *name)
{
    uint8_t buf[512];
    size_t n = read_file(f->dir, name, buf, sizeof(buf));

    for (size_t i = 0; i + sizeof(secret) - 1 <= n; i++)
        if (!memcmp(buf + i, secret, sizeof(secret) - 1))
            return true;
    return false;
}

static void test_sealed_roundtrip(void **state)
{
    struct store_fixture *f = *state;
    uint8_t hdr[STATE_HEADER_SIZE];

    state_store_set_cipher(&cipher_a);
    put(f, "nv");
    assert_false(holds_secret(f, "nv"));
    assert_int_equal(file_size(f->dir, "nv"),
                     STATE_HEADER_SIZE + sizeof(secret) + TAG);
    read_file(f->dir, "nv", hdr, sizeof(hdr));
    assert_int_equal(hdr[36] & STATE_FLAG_SEALED, STATE_FLAG_SEALED);
    assert_int_equal(get(f, "nv"), 0);
    /* Control: the same write without a cipher shows the contents. */
    state_store_set_cipher(NULL);
    put(f, "plain");
    assert_true(holds_secret(f, "plain"));
}

/* Read @name with the current cipher: refused with @err and a message
 * naming the file, which is unchanged. */
static void expect_refused(struct store_fixture *f, const char *name, int err,
                           const char *msg)
{
    uint8_t before[512], after[512];
    size_t n = read_file(f->dir, name, before, sizeof(before));
    char path[300];

    log_capture_start();
    assert_int_equal(get(f, name), err);
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    assert_non_null(strstr(log_captured(), path));
    assert_non_null(strstr(log_captured(), msg));
    assert_int_equal(read_file(f->dir, name, after, sizeof(after)), n);
    assert_memory_equal(before, after, n);
}

static void test_missing_and_wrong_key(void **state)
{
    struct store_fixture *f = *state;

    state_store_set_cipher(&cipher_a);
    put(f, "nv");
    state_store_set_cipher(NULL);
    expect_refused(f, "nv", -ENOKEY, "is encrypted: give its key");
    state_store_set_cipher(&cipher_b);
    expect_refused(f, "nv", -EKEYREJECTED, "wrong key");
}

static void test_plain_file_with_key(void **state)
{
    struct store_fixture *f = *state;

    put(f, "nv");
    state_store_set_cipher(&cipher_a);
    expect_refused(f, "nv", -EKEYREJECTED, "is not encrypted but a key");
}

static void write_raw(struct store_fixture *f, const char *name, const uint8_t *buf,
                      size_t n)
{
    char path[300];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    assert_non_null(fp = fopen(path, "wb"));
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

/* Someone who can write the directory changes the generation and fixes
 * the checksum: the seal still tells. */
static void test_header_bound_to_seal(void **state)
{
    struct store_fixture *f = *state;
    uint8_t buf[512];
    size_t n;

    state_store_set_cipher(&cipher_a);
    put(f, "nv");
    n = read_file(f->dir, "nv", buf, sizeof(buf));
    buf[16] ^= 1;   /* generation */
    {
        uint64_t sum = state_checksum(buf, buf + STATE_HEADER_SIZE,
                                      (uint32_t)(n - STATE_HEADER_SIZE));

        for (int i = 0; i < 8; i++)
            buf[40 + i] = (uint8_t)(sum >> (8 * i));
    }
    write_raw(f, "nv", buf, n);
    expect_refused(f, "nv", -EKEYREJECTED, "wrong key, or the file was altered");
}

/* A sealed file copied under another name (another TPM's file, or the
 * volatile state in place of the NV) does not open. */
static void test_name_bound_to_seal(void **state)
{
    struct store_fixture *f = *state;
    uint8_t buf[512];
    size_t n;

    state_store_set_cipher(&cipher_a);
    put(f, "one");
    n = read_file(f->dir, "one", buf, sizeof(buf));
    write_raw(f, "two", buf, n);
    assert_int_equal(get(f, "one"), 0);
    expect_refused(f, "two", -EKEYREJECTED, "wrong key");
}

static void test_sealed_slots(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info = { .type = TYPE, .len = sizeof(secret) };
    uint8_t *data;

    state_store_set_cipher(&cipher_a);
    for (uint64_t g = 1; g <= 3; g++) {
        info.generation = g;
        assert_int_equal(state_store_write_slots(f->st, "vol", &info,
                                                 (const uint8_t *)secret,
                                                 false), 0);
    }
    assert_false(holds_secret(f, "vol.0"));
    assert_false(holds_secret(f, "vol.1"));
    assert_int_equal(state_store_read_slots(f->st, "vol", TYPE, &data, &info), 0);
    assert_int_equal(info.generation, 3);
    assert_int_equal(info.len, sizeof(secret));
    assert_memory_equal(data, secret, sizeof(secret));
    free(data);
    state_store_set_cipher(&cipher_b);
    log_capture_start();
    assert_int_equal(state_store_read_slots(f->st, "vol", TYPE, &data, &info),
                     -EKEYREJECTED);
    assert_null(data);
    assert_non_null(strstr(log_captured(), "vol.0"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sealed_roundtrip),
        T(test_missing_and_wrong_key),
        T(test_plain_file_with_key),
        T(test_header_bound_to_seal),
        T(test_name_bound_to_seal),
        T(test_sealed_slots),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
