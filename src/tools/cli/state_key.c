/* SPDX-License-Identifier: BSD-3-Clause */
/* State encryption keys and AES-256-GCM sealing (OpenSSL). */
#include "tools/cli/state_key.h"
#include "backend/state_store.h"
#include "tools/cli/file_io.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SALT_LEN  16
#define NONCE_LEN 12
#define TAG_LEN   16
#define KEY_FILE_MAX 4096
static const uint8_t sealed_magic[16] = "TPMCRBSEALED\0\0\0\1";

/* ------------------------------------------------------------ key files */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

static int parse_key_file(const uint8_t *data, size_t len, bool hex,
                          struct state_key *k)
{
    if (!hex) {
        if (len != 16 && len != 32) {
            LOG_ERROR("key file %s holds %zu bytes: a binary key has 16 or "
                      "32", k->path, len);
            return -EINVAL;
        }
        memcpy(k->bytes, data, len);
        k->len = len;
        return 0;
    }
    while (len && isspace(data[len - 1]))
        len--;
    if (len != 32 && len != 64) {
        LOG_ERROR("key file %s holds %zu characters: a hex key has 32 or 64 "
                  "hex digits", k->path, len);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(data[i]), lo = hexval(data[i + 1]);

        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;

            LOG_ERROR("key file %s: byte 0x%02x at offset %zu is not a hex "
                      "digit (give format=binary for a raw key)", k->path,
                      data[at], at);
            return -EINVAL;
        }
        k->bytes[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    k->len = len / 2;
    return 0;
}

int state_key_load(const char *spec, struct state_key *k)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    bool hex = true, have_file = false;
    uint8_t *data;
    size_t len;
    int err = 0;

    memset(k, 0, sizeof(*k));
    if (!copy)
        return -ENOMEM;
    for (tok = strtok_r(copy, ",", &save); tok && !err;
         tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "file=", 5) && tok[5] &&
            strlen(tok + 5) < sizeof(k->path)) {
            strcpy(k->path, tok + 5);
            have_file = true;
        } else if (!strcmp(tok, "format=hex")) {
            hex = true;
        } else if (!strcmp(tok, "format=binary")) {
            hex = false;
        } else if (!strncmp(tok, "mode=", 5) || !strncmp(tok, "remove=", 7)) {
            /* swtpm's cipher mode follows from the key length here, and
             * the key file is never removed. */
        } else {
            LOG_ERROR("--key: unknown part '%s' (file=PATH[,format=hex|"
                      "binary] is supported; pwdfile= is not)", tok);
            err = -EINVAL;
        }
    }
    free(copy);
    if (err)
        return err;
    if (!have_file) {
        LOG_ERROR("--key needs file=PATH");
        return -EINVAL;
    }
    if ((err = file_read_all(k->path, KEY_FILE_MAX, false, &data, &len)) < 0)
        return err;
    err = parse_key_file(data, len, hex, k);
    OPENSSL_cleanse(data, len);
    free(data);
    return err;
}

/* ------------------------------------------------------------------ GCM */

/* Fetched once: OpenSSL 3 looks an implicitly fetched cipher up again at
 * every init, which would dominate the cost of sealing after each command.
 * The pointer is set once and never freed (it lives as long as the
 * process); a race between two first users only fetches twice. */
static const EVP_CIPHER *gcm_cipher(void)
{
    static EVP_CIPHER *fetched;

    if (!__atomic_load_n(&fetched, __ATOMIC_ACQUIRE)) {
        EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
        EVP_CIPHER *none = NULL;

        if (c && !__atomic_compare_exchange_n(&fetched, &none, c, false,
                                              __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE))
            EVP_CIPHER_free(c);
    }
    return fetched;
}

/*
 * Each seal uses a key of its own, HMAC-SHA256(key, label || salt) with a
 * fresh random salt stored in front: a state directory that `pipe` saves
 * after every command would otherwise run one key through more random
 * GCM nonces than is safe (2^32) over a long life.
 */
static bool seal_key(const struct state_key *k, const uint8_t *salt,
                     uint8_t sub[32])
{
    static const char label[] = "tpmcrb sealed state v1";
    uint8_t msg[sizeof(label) - 1 + SALT_LEN];
    unsigned n = 32;

    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, salt, SALT_LEN);
    return HMAC(EVP_sha256(), k->bytes, (int)k->len, msg, sizeof(msg), sub,
                &n) && n == 32;
}

int gcm_seal(const struct state_key *k, const uint8_t *aad, size_t aad_len,
             const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t sub[32], *nonce = out + SALT_LEN, *ct = nonce + NONCE_LEN;
    int n, ok;

    if (!ctx)
        return -ENOMEM;
    ok = gcm_cipher() && RAND_bytes(out, SALT_LEN + NONCE_LEN) == 1 &&
         seal_key(k, out, sub) &&
         EVP_EncryptInit_ex(ctx, gcm_cipher(), NULL, sub, nonce) == 1 &&
         (!aad_len ||
          EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
         (!len || EVP_EncryptUpdate(ctx, ct, &n, in, (int)len) == 1) &&
         EVP_EncryptFinal_ex(ctx, ct + len, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                             ct + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(sub, sizeof(sub));
    return ok ? 0 : -EIO;
}

int gcm_open(const struct state_key *k, const uint8_t *aad, size_t aad_len,
             const uint8_t *in, size_t len, uint8_t *out)
{
    const uint8_t *nonce = in + SALT_LEN, *ct = nonce + NONCE_LEN;
    EVP_CIPHER_CTX *ctx;
    uint8_t sub[32];
    size_t clen;
    int n, ok;

    if (len < GCM_OVERHEAD)
        return -EBADMSG;
    clen = len - GCM_OVERHEAD;
    if (!(ctx = EVP_CIPHER_CTX_new()))
        return -ENOMEM;
    ok = gcm_cipher() && seal_key(k, in, sub) &&
         EVP_DecryptInit_ex(ctx, gcm_cipher(), NULL, sub, nonce) == 1 &&
         (!aad_len ||
          EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
         (!clen || EVP_DecryptUpdate(ctx, out, &n, ct, (int)clen) == 1) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                             (void *)(ct + clen)) == 1 &&
         EVP_DecryptFinal_ex(ctx, out + clen, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(sub, sizeof(sub));
    if (!ok)
        OPENSSL_cleanse(out, clen);
    return ok ? 0 : -EBADMSG;
}

/* ------------------------------------------------- the state store's */

static struct state_key installed;

static int store_seal(void *opaque, const uint8_t *aad, uint32_t aad_len,
                      const uint8_t *in, uint32_t len, uint8_t *out)
{
    return gcm_seal(opaque, aad, aad_len, in, len, out);
}

static int store_open(void *opaque, const uint8_t *aad, uint32_t aad_len,
                      const uint8_t *in, uint32_t len, uint8_t *out)
{
    return gcm_open(opaque, aad, aad_len, in, len, out);
}

static const struct state_cipher store_cipher = {
    .overhead = GCM_OVERHEAD,
    .seal = store_seal,
    .open = store_open,
    .opaque = &installed,
};

int state_key_install(const struct state_key *k)
{
    if (k->len != 32) {
        LOG_ERROR("key %s has %zu bits: tpmcrb encrypts its state with "
                  "AES-256-GCM and needs a 256-bit key", k->path, k->len * 8);
        return -EINVAL;
    }
    installed = *k;
    state_store_set_cipher(&store_cipher);
    return 0;
}

int state_key_use(const char *spec, const char *backend)
{
    struct state_key k;
    int err;

    if (!spec)
        return 0;
    if (backend && strcmp(backend, "libtpms")) {
        LOG_ERROR("--key encrypts the libtpms backend's state files; backend "
                  "%s keeps no state of tpmcrb's (give swtpm its own --key)",
                  backend);
        return -EINVAL;
    }
    err = state_key_load(spec, &k);
    if (err == 0)
        err = state_key_install(&k);
    OPENSSL_cleanse(&k, sizeof(k));
    return err;
}

/* ------------------------------------------------------ sealed files */

int sealed_file_write(const struct state_key *k, const char *path,
                      const uint8_t *data, size_t len)
{
    uint8_t *buf;
    int err;

    if (!k)
        return file_write_atomic(path, data, len, 0600);
    if (k->len != 32) {
        LOG_ERROR("key %s has %zu bits: sealing needs a 256-bit key", k->path,
                  k->len * 8);
        return -EINVAL;
    }
    if (len > SIZE_MAX - sizeof(sealed_magic) - GCM_OVERHEAD ||
        !(buf = malloc(sizeof(sealed_magic) + GCM_OVERHEAD + len)))
        return -ENOMEM;
    memcpy(buf, sealed_magic, sizeof(sealed_magic));
    err = gcm_seal(k, sealed_magic, sizeof(sealed_magic), data, len,
                   buf + sizeof(sealed_magic));
    if (err == 0)
        err = file_write_atomic(path, buf, sizeof(sealed_magic) +
                                GCM_OVERHEAD + len, 0600);
    free(buf);
    return err;
}

int sealed_file_read(const struct state_key *k, const char *path,
                     size_t max, bool plain_ok, uint8_t **data, size_t *len)
{
    uint8_t *raw, *plain;
    size_t n;
    bool sealed;
    int err;

    if ((err = file_read_all(path, max, false, &raw, &n)) < 0)
        return err;
    sealed = n >= sizeof(sealed_magic) &&
             !memcmp(raw, sealed_magic, sizeof(sealed_magic));
    if (!sealed && (!k || plain_ok)) {
        *data = raw;
        *len = n;
        return 0;
    }
    err = -EKEYREJECTED;
    if (!sealed)
        LOG_ERROR("%s is not encrypted but --key was given", path);
    else if (!k)
        LOG_ERROR("%s is encrypted: give its key with --key file=PATH", path);
    else if (n < sizeof(sealed_magic) + GCM_OVERHEAD)
        LOG_ERROR("%s is truncated (shorter than its seal)", path);
    else if (!(plain = malloc(n - sizeof(sealed_magic) - GCM_OVERHEAD + 1)))
        err = -ENOMEM;
    else if (gcm_open(k, sealed_magic, sizeof(sealed_magic),
                      raw + sizeof(sealed_magic), n - sizeof(sealed_magic),
                      plain) < 0) {
        LOG_ERROR("cannot decrypt %s: wrong key, or the file was altered",
                  path);
        free(plain);
    } else {
        *data = plain;
        *len = n - sizeof(sealed_magic) - GCM_OVERHEAD;
        err = 0;
    }
    free(raw);
    return err;
}
