/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local CA that signs EK certificates, and the certificates (X.509
 * through OpenSSL). A CA directory holds ca.key (PEM private key, 0600)
 * and ca.crt (PEM self-signed certificate).
 */
#ifndef TPMCRB_EK_CERT_H
#define TPMCRB_EK_CERT_H

#include "tools/setup/ek.h"

#include <stdbool.h>
#include <stdint.h>

struct local_ca;

/* The CA in @dir. @may_create: a missing or empty @dir gets a new CA
 * (*created says so); otherwise both files must be there. A certificate
 * without its key, a key that does not match, or unreadable files are
 * reported naming the file, and nothing is written. */
int local_ca_open(const char *dir, bool may_create, struct local_ca **out,
                  bool *created);
void local_ca_free(struct local_ca *ca);
const char *local_ca_cert_path(const struct local_ca *ca);

/* What the certificate says about the TPM (Subject Alternative Name). */
struct tpm_identity {
    uint32_t manufacturer;   /* TPM_PT_MANUFACTURER */
    char model[17];          /* vendor strings */
    uint32_t firmware;       /* TPM_PT_FIRMWARE_VERSION_1 */
};

/* An EK certificate for @ek signed by @ca, DER in a malloc'd buffer. */
int ek_cert_issue(struct local_ca *ca, const struct ek_public *ek,
                  const struct tpm_identity *id, uint8_t **der, size_t *len);

/* One line describing a DER certificate: serial, issuer, key, validity;
 * and whether its public key is @ek. */
int ek_cert_describe(const uint8_t *der, size_t len,
                     const struct ek_public *ek, char *out, size_t cap,
                     bool *key_matches);

#endif
