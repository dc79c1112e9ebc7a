/* SPDX-License-Identifier: BSD-3-Clause */
/* swtpm's state file format, read and written (see swtpm_files.h). */
#include "tools/state/swtpm_files.h"
#include "tools/tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define HDR_LEN      10u
#define HDR_VERSION  2u
#define FLAG_ENCRYPTED      0x01u
#define FLAG_KEY_256        0x08u
#define TAG_DATA            1u
#define TAG_ENCRYPTED_DATA  2u
#define TAG_HMAC            3u
#define TAG_IVEC            6u
#define TLV_HDR      6u
#define MAC_LEN      32u
#define MAX_BLOB     (16u << 20)

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* The value of the first record with @tag in [p, p+len): NULL when there
 * is none or a record runs past the end (*bad). */
static const uint8_t *find_tag(const uint8_t *p, size_t len, uint16_t tag,
                               uint32_t *vlen, bool *bad)
{
    size_t off = 0;

    while (off < len) {
        uint32_t n;

        if (len - off < TLV_HDR) {
            *bad = true;
            return NULL;
        }
        n = be32(p + off + 2);
        if (n > len - off - TLV_HDR) {
            *bad = true;
            return NULL;
        }
        if (be16(p + off) == tag) {
            *vlen = n;
            return p + off + TLV_HDR;
        }
        off += TLV_HDR + n;
    }
    return NULL;
}

static const EVP_CIPHER *cbc_of(const struct state_key *k)
{
    return k->len == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
}

static int cbc_run(const struct state_key *k, bool enc, const uint8_t *iv,
                   const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0, ok;

    if (!ctx)
        return -ENOMEM;
    ok = EVP_CipherInit_ex(ctx, cbc_of(k), NULL, k->bytes, iv, enc) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 &&
         EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1 &&
         (size_t)(n1 + n2) == len;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

/* HMAC-SHA256 with the file key over the ciphertext, then the IV. */
static bool mac_of(const struct state_key *k, const uint8_t *ct, size_t len,
                   const uint8_t *iv, size_t iv_len, uint8_t mac[MAC_LEN])
{
    uint8_t *msg = malloc(len + (iv ? iv_len : 0) + 1);
    unsigned n = MAC_LEN;
    bool ok;

    if (!msg)
        return false;
    memcpy(msg, ct, len);
    if (iv)
        memcpy(msg + len, iv, iv_len);
    ok = HMAC(EVP_sha256(), k->bytes, (int)k->len, msg,
              len + (iv ? iv_len : 0), mac, &n) && n == MAC_LEN;
    free(msg);
    return ok;
}

static int decrypt(const char *path, const uint8_t *body, size_t len,
                   uint16_t flags, const struct state_key *key,
                   uint8_t **blob, uint32_t *blob_len)
{
    const uint8_t *ct, *mac, *iv;
    uint32_t ct_len, mac_len, iv_len = 0;
    uint8_t want[MAC_LEN], zero_iv[32] = { 0 }, *plain;
    size_t keylen = flags & FLAG_KEY_256 ? 32 : 16;
    bool bad = false;
    unsigned pad;

    if (!key) {
        LOG_ERROR("%s is encrypted (swtpm --key): give its key with "
                  "--swtpm-key file=PATH (or --key)", path);
        return -ENOKEY;
    }
    if (key->len != keylen) {
        LOG_ERROR("%s is encrypted with a %zu-bit key; %s has %zu bits", path,
                  keylen * 8, key->path, key->len * 8);
        return -EKEYREJECTED;
    }
    ct = find_tag(body, len, TAG_ENCRYPTED_DATA, &ct_len, &bad);
    mac = find_tag(body, len, TAG_HMAC, &mac_len, &bad);
    iv = find_tag(body, len, TAG_IVEC, &iv_len, &bad);
    if (bad || !ct || !mac || mac_len != MAC_LEN || (iv && iv_len != keylen) ||
        ct_len == 0 || ct_len % keylen) {
        LOG_ERROR("%s is not a valid encrypted swtpm state file (records "
                  "missing, truncated or of the wrong size)", path);
        return -EBADMSG;
    }
    if (!mac_of(key, ct, ct_len, iv, iv_len, want) ||
        CRYPTO_memcmp(want, mac, MAC_LEN)) {
        LOG_ERROR("cannot decrypt %s: wrong key, or the file was altered",
                  path);
        return -EKEYREJECTED;
    }
    if (!(plain = malloc(ct_len)))
        return -ENOMEM;
    if (cbc_run(key, false, iv ? iv : zero_iv, ct, ct_len, plain) < 0) {
        free(plain);
        LOG_ERROR("cannot decrypt %s", path);
        return -EIO;
    }
    pad = plain[ct_len - 1];
    for (unsigned i = 0; pad && i < pad && i < ct_len; i++)
        if (plain[ct_len - 1 - i] != pad)
            pad = 0;
    if (pad == 0 || pad > keylen) {
        OPENSSL_cleanse(plain, ct_len);
        free(plain);
        LOG_ERROR("%s: decrypted data has a bad padding", path);
        return -EBADMSG;
    }
    *blob = plain;
    *blob_len = ct_len - pad;
    return 0;
}

int swtpm_blob_decode(const char *path, const uint8_t *file, size_t len,
                      const struct state_key *key, uint8_t **blob,
                      uint32_t *blob_len)
{
    const uint8_t *data;
    uint32_t dlen;
    uint16_t hdrsize, flags;
    bool bad = false;

    if (len < HDR_LEN || be32(file + 6) != len || file[1] > HDR_VERSION ||
        (file[0] != 1 && file[0] != 2) ||
        (hdrsize = be16(file + 2)) < HDR_LEN || hdrsize > len) {
        LOG_ERROR("%s is not an swtpm state file (bad header%s)", path,
                  len >= HDR_LEN && be32(file + 6) != len
                      ? ": its length field does not match the file, "
                        "truncated?" : "");
        return -EBADMSG;
    }
    flags = be16(file + 4);
    file += hdrsize;
    len -= hdrsize;
    if (flags & FLAG_ENCRYPTED) {
        if (file[-hdrsize] != 2) {
            LOG_ERROR("%s: encrypted files of header version 1 are not "
                      "supported", path);
            return -ENOTSUP;
        }
        return decrypt(path, file, len, flags, key, blob, blob_len);
    }
    if (file[-hdrsize] == 1) {
        data = file;
        dlen = (uint32_t)len;
    } else if (!(data = find_tag(file, len, TAG_DATA, &dlen, &bad))) {
        LOG_ERROR("%s holds no state record%s", path,
                  bad ? " (a record is truncated)" : "");
        return -EBADMSG;
    }
    if (dlen == 0 || dlen > MAX_BLOB) {
        LOG_ERROR("%s: state record of %u bytes", path, dlen);
        return -EBADMSG;
    }
    if (!(*blob = malloc(dlen)))
        return -ENOMEM;
    memcpy(*blob, data, dlen);
    *blob_len = dlen;
    return 0;
}

static uint8_t *put_tlv(uint8_t *p, uint16_t tag, const uint8_t *v,
                        uint32_t n)
{
    put16(p, tag);
    put32(p + 2, n);
    memcpy(p + TLV_HDR, v, n);
    return p + TLV_HDR + n;
}

int swtpm_blob_encode(const uint8_t *blob, uint32_t blob_len,
                      const struct state_key *key, uint8_t **file,
                      size_t *len)
{
    uint8_t iv[32], mac[MAC_LEN], *ct = NULL, *out, *p;
    size_t total, ct_len = blob_len;
    uint16_t flags = 0;

    if (blob_len > MAX_BLOB)
        return -EFBIG;
    if (key) {
        unsigned pad = (unsigned)(key->len - blob_len % key->len);

        ct_len = blob_len + pad;
        if (!(ct = malloc(ct_len)))
            return -ENOMEM;
        memcpy(ct, blob, blob_len);
        memset(ct + blob_len, (int)pad, pad);
        if (RAND_bytes(iv, (int)key->len) != 1 ||
            cbc_run(key, true, iv, ct, ct_len, ct) < 0 ||
            !mac_of(key, ct, ct_len, iv, key->len, mac)) {
            free(ct);
            LOG_ERROR("cannot encrypt the swtpm state");
            return -EIO;
        }
        flags = FLAG_ENCRYPTED | (key->len == 32 ? FLAG_KEY_256 : 0);
        total = HDR_LEN + 3 * TLV_HDR + ct_len + MAC_LEN + key->len;
    } else {
        total = HDR_LEN + TLV_HDR + blob_len;
    }
    if (!(out = malloc(total))) {
        free(ct);
        return -ENOMEM;
    }
    out[0] = HDR_VERSION;
    out[1] = 1;
    put16(out + 2, HDR_LEN);
    put16(out + 4, flags);
    put32(out + 6, (uint32_t)total);
    p = out + HDR_LEN;
    if (key) {
        p = put_tlv(p, TAG_ENCRYPTED_DATA, ct, (uint32_t)ct_len);
        p = put_tlv(p, TAG_HMAC, mac, MAC_LEN);
        put_tlv(p, TAG_IVEC, iv, (uint32_t)key->len);
        free(ct);
    } else {
        put_tlv(p, TAG_DATA, blob, blob_len);
    }
    *file = out;
    *len = total;
    return 0;
}
