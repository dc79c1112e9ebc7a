/* SPDX-License-Identifier: BSD-3-Clause */
/* The local CA and EK certificates, built with OpenSSL's X.509 API. */
#include "tools/setup/ek_cert.h"
#include "tools/tool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CA_KEY  "ca.key"
#define CA_CERT "ca.crt"
#define PEM_MAX (1u << 20)
/* TCG: an EK certificate has no well-defined expiry. */
#define NO_EXPIRY "99991231235959Z"

/* TCG attribute types of the TPM in the Subject Alternative Name. */
#define OID_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TPM_MODEL        "2.23.133.2.2"
#define OID_TPM_VERSION      "2.23.133.2.3"
/* tcg-kp-EKCertificate */
#define OID_EK_CERTIFICATE   "2.23.133.8.1"

struct local_ca {
    EVP_PKEY *key;
    X509 *cert;
    char cert_path[PATH_MAX];
};

static int ssl_error(const char *what)
{
    unsigned long e = ERR_get_error();

    LOG_ERROR("%s: %s", what,
            e ? ERR_reason_error_string(e) : "OpenSSL error");
    ERR_clear_error();
    return -EIO;
}

/* ------------------------------------------------------------ CA files */

static int path_in(char *buf, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
        LOG_ERROR("path too long: %s/%s", dir, name);
        return -ENAMETOOLONG;
    }
    return 0;
}

static int read_pem(const char *path, bool is_key, void **out)
{
    uint8_t *data;
    size_t len;
    BIO *bio;
    int err = file_read_all(path, PEM_MAX, false, &data, &len);

    if (err < 0)
        return err;
    bio = BIO_new_mem_buf(data, (int)len);
    *out = bio ? (is_key ? (void *)PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                         : (void *)PEM_read_bio_X509(bio, NULL, NULL, NULL))
               : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(data, len);
    free(data);
    if (!*out) {
        ERR_clear_error();
        LOG_ERROR("%s is not a PEM %s", path,
                is_key ? "private key" : "certificate");
        return -EINVAL;
    }
    return 0;
}

static int write_pem(const char *path, const void *obj, bool is_key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem;
    long len;
    int err, ok;

    if (!bio)
        return -ENOMEM;
    ok = is_key ? PEM_write_bio_PrivateKey(bio, (EVP_PKEY *)obj, NULL, NULL,
                                           0, NULL, NULL)
                : PEM_write_bio_X509(bio, (X509 *)obj);
    if (!ok) {
        BIO_free(bio);
        return ssl_error("cannot encode PEM");
    }
    len = BIO_get_mem_data(bio, &mem);
    err = file_write_atomic(path, mem, (size_t)len, is_key ? 0600 : 0644);
    BIO_free(bio);
    return err;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1)) {
        X509_EXTENSION_free(ext);
        return ssl_error("cannot add a certificate extension");
    }
    X509_EXTENSION_free(ext);
    return 0;
}

static int set_serial_and_validity(X509 *cert)
{
    uint8_t rnd[16];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return ssl_error("no random serial number");
    rnd[0] &= 0x7F; /* a positive INTEGER */
    bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
         X509_set_version(cert, 2) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), 0) &&
         ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), NO_EXPIRY);
    BN_free(bn);
    return ok ? 0 : ssl_error("cannot set serial number and validity");
}

static int ca_create(struct local_ca *ca, const char *key_path,
                     const char *cert_path)
{
    char host[64] = "localhost", cn[128];
    X509_NAME *name;
    int err;

    gethostname(host, sizeof(host) - 1);
    snprintf(cn, sizeof(cn), "tpmcrb local CA (%s)", host);
    ca->key = EVP_RSA_gen(3072);
    ca->cert = X509_new();
    if (!ca->key || !ca->cert)
        return ssl_error("cannot create the CA key");
    name = X509_get_subject_name(ca->cert);
    if ((err = set_serial_and_validity(ca->cert)) < 0)
        return err;
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                    (const unsigned char *)"tpmcrb", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_issuer_name(ca->cert, name) ||
        !X509_set_pubkey(ca->cert, ca->key))
        return ssl_error("cannot build the CA certificate");
    if ((err = add_ext(ca->cert, ca->cert, NID_basic_constraints,
                       "critical,CA:TRUE")) < 0 ||
        (err = add_ext(ca->cert, ca->cert, NID_key_usage,
                       "critical,keyCertSign,cRLSign")) < 0 ||
        (err = add_ext(ca->cert, ca->cert, NID_subject_key_identifier,
                       "hash")) < 0)
        return err;
    if (!X509_sign(ca->cert, ca->key, EVP_sha256()))
        return ssl_error("cannot sign the CA certificate");
    /* The key first: a certificate alone is "a CA without its key". */
    if ((err = write_pem(key_path, ca->key, true)) < 0)
        return err;
    if ((err = write_pem(cert_path, ca->cert, false)) < 0) {
        unlink(key_path);
        return err;
    }
    return 0;
}

int local_ca_open(const char *dir, bool may_create, struct local_ca **out,
                  bool *created)
{
    char key_path[PATH_MAX];
    struct local_ca *ca;
    bool has_key, has_cert;
    int err;

    *created = false;
    if (!(ca = calloc(1, sizeof(*ca))))
        return -ENOMEM;
    if ((err = path_in(key_path, dir, CA_KEY)) < 0 ||
        (err = path_in(ca->cert_path, dir, CA_CERT)) < 0)
        goto fail;
    has_key = access(key_path, F_OK) == 0;
    has_cert = access(ca->cert_path, F_OK) == 0;
    if (!has_key && !has_cert && may_create) {
        if ((err = dir_make(dir, true)) < 0 ||
            (err = ca_create(ca, key_path, ca->cert_path)) < 0)
            goto fail;
        *created = true;
        *out = ca;
        return 0;
    }
    if (!has_key || !has_cert) {
        LOG_ERROR("the CA in %s is incomplete: %s is missing (a CA "
                "needs both %s and %s)", dir,
                has_key ? ca->cert_path : key_path, CA_KEY, CA_CERT);
        err = -ENOENT;
        goto fail;
    }
    if ((err = read_pem(key_path, true, (void **)&ca->key)) < 0 ||
        (err = read_pem(ca->cert_path, false, (void **)&ca->cert)) < 0)
        goto fail;
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        LOG_ERROR("%s is not the key of %s", key_path,
                ca->cert_path);
        err = -EINVAL;
        goto fail;
    }
    *out = ca;
    return 0;
fail:
    local_ca_free(ca);
    return err;
}

void local_ca_free(struct local_ca *ca)
{
    if (!ca)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

const char *local_ca_cert_path(const struct local_ca *ca)
{
    return ca->cert_path;
}

/* ------------------------------------------------------------- EK keys */

static EVP_PKEY *ek_pkey(const struct ek_public *ek)
{
    static const uint8_t e[] = { 0x01, 0x00, 0x01 };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *bn_e = NULL;
    uint8_t point[65];

    if (!bld)
        return NULL;
    if (ek->type == EK_RSA2048) {
        n = BN_bin2bn(ek->rsa_n, sizeof(ek->rsa_n), NULL);
        bn_e = BN_bin2bn(e, sizeof(e), NULL);
        if (!n || !bn_e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
            goto out;
    } else {
        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, ek->ecc_x, 32);
        memcpy(point + 33, ek->ecc_y, 32);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                              point, sizeof(point)))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, ek->type == EK_RSA2048 ? "RSA" : "EC",
                                     NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(bn_e);
    return pkey;
}

/* The TPM's identity as a directoryName in the Subject Alternative Name
 * (critical: the subject itself is empty, as the TCG profile has it). */
static int add_tpm_san(X509 *cert, const struct tpm_identity *id)
{
    char manuf[32], version[32];
    X509_NAME *dn = X509_NAME_new();
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    int ok;

    snprintf(manuf, sizeof(manuf), "id:%08X", id->manufacturer);
    snprintf(version, sizeof(version), "id:%08X", id->firmware);
    ok = dn && names && gn &&
         X509_NAME_add_entry_by_txt(dn, OID_TPM_MANUFACTURER, MBSTRING_UTF8,
                                    (const unsigned char *)manuf, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(dn, OID_TPM_MODEL, MBSTRING_UTF8,
                                    (const unsigned char *)id->model, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(dn, OID_TPM_VERSION, MBSTRING_UTF8,
                                    (const unsigned char *)version, -1, -1, 0);
    if (ok) {
        GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
        dn = NULL;
        ok = sk_GENERAL_NAME_push(names, gn) > 0;
        if (ok)
            gn = NULL;
    }
    ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 1,
                                 X509V3_ADD_DEFAULT) == 1;
    X509_NAME_free(dn);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(names);
    return ok ? 0 : ssl_error("cannot add the TPM's subject alternative name");
}

int ek_cert_issue(struct local_ca *ca, const struct ek_public *ek,
                  const struct tpm_identity *id, uint8_t **der, size_t *len)
{
    EVP_PKEY *pkey = ek_pkey(ek);
    X509 *cert = X509_new();
    unsigned char *buf = NULL;
    int err, n;

    if (!pkey || !cert) {
        err = ssl_error("cannot load the EK public key");
        goto out;
    }
    if ((err = set_serial_and_validity(cert)) < 0)
        goto out;
    if (!X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
        !X509_set_pubkey(cert, pkey)) {
        err = ssl_error("cannot build the EK certificate");
        goto out;
    }
    if ((err = add_tpm_san(cert, id)) < 0 ||
        (err = add_ext(cert, ca->cert, NID_basic_constraints,
                       "critical,CA:FALSE")) < 0 ||
        (err = add_ext(cert, ca->cert, NID_key_usage,
                       ek->type == EK_RSA2048 ? "critical,keyEncipherment"
                                              : "critical,keyAgreement")) < 0 ||
        (err = add_ext(cert, ca->cert, NID_authority_key_identifier,
                       "keyid:always")) < 0 ||
        (err = add_ext(cert, ca->cert, NID_ext_key_usage,
                       OID_EK_CERTIFICATE)) < 0)
        goto out;
    if (!X509_sign(cert, ca->key, EVP_sha256())) {
        err = ssl_error("cannot sign the EK certificate");
        goto out;
    }
    n = i2d_X509(cert, &buf);
    if (n <= 0) {
        err = ssl_error("cannot encode the EK certificate");
        goto out;
    }
    *der = malloc((size_t)n);
    if (!*der) {
        err = -ENOMEM;
        goto out;
    }
    memcpy(*der, buf, (size_t)n);
    *len = (size_t)n;
    err = 0;
out:
    OPENSSL_free(buf);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return err;
}

int ek_cert_describe(const uint8_t *der, size_t len,
                     const struct ek_public *ek, char *out, size_t cap,
                     bool *key_matches)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *pkey = ek ? ek_pkey(ek) : NULL;
    char issuer[256], serial[80] = "?";
    BIGNUM *bn;
    char *hex;

    *key_matches = false;
    if (!cert || p != der + len) {
        X509_free(cert);
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return -EINVAL;
    }
    X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof(issuer));
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (bn && (hex = BN_bn2hex(bn))) {
        snprintf(serial, sizeof(serial), "%s", hex);
        OPENSSL_free(hex);
    }
    BN_free(bn);
    *key_matches = pkey && EVP_PKEY_eq(X509_get0_pubkey(cert), pkey) == 1;
    snprintf(out, cap, "%zu bytes, serial %s, issuer %s", len, serial, issuer);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return 0;
}
