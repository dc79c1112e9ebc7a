/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Endorsement keys from the TCG default templates (TCG EK Credential
 * Profile for TPM Family 2.0, templates L-1 RSA 2048 and L-2 ECC NIST
 * P-256), their certificates' NV indices, and PCR bank allocation.
 */
#ifndef TPMCRB_EK_H
#define TPMCRB_EK_H

#include "tools/setup/tpm_client.h"

#include <stdint.h>

#define EK_CERT_NV_RSA 0x01C00002u
#define EK_CERT_NV_ECC 0x01C0000Au

enum ek_type { EK_RSA2048, EK_ECC_P256 };

/* The public part of an EK, as the TPM returned it. */
struct ek_public {
    enum ek_type type;
    uint8_t rsa_n[256];     /* RSA modulus; the exponent is 65537 */
    uint8_t ecc_x[32], ecc_y[32];
};

const char *ek_type_name(enum ek_type t);
uint32_t ek_cert_index(enum ek_type t);

/* TPM2_CreatePrimary in the endorsement hierarchy with the template of
 * @t, then TPM2_FlushContext: the EK is recreated on demand by anyone with
 * the same template (tpm2_createek). */
int ek_create(struct tpm_client *c, enum ek_type t, struct ek_public *out);

/* Define @index (platform-created, readable by owner and with its own
 * empty auth, written by the platform) and write @data into it. An index
 * already there is replaced. */
int nv_store_cert(struct tpm_client *c, uint32_t index, const uint8_t *data,
                  uint16_t len);

/* TPM2_NV_WriteLock by the platform: with WRITEDEFINE the certificate
 * cannot be written again until the index is undefined. */
int nv_write_lock(struct tpm_client *c, uint32_t index);

/* Read index @index (AUTHREAD, empty auth) into a malloc'd buffer;
 * -ENOENT when undefined. */
int nv_read_all(struct tpm_client *c, uint32_t index, uint8_t **data,
                uint16_t *len);

/* Make exactly the banks in @list (comma-separated: sha1, sha256, sha384,
 * sha512) active. Takes effect at the next TPM reset. */
int pcr_allocate(struct tpm_client *c, const char *list);

/* The active banks, comma-separated, into @out. */
int pcr_active_banks(struct tpm_client *c, char *out, size_t cap);

/* A TPM property (TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)). */
int tpm_property(struct tpm_client *c, uint32_t prop, uint32_t *value);
#define TPM_PT_MANUFACTURER      0x105u
#define TPM_PT_VENDOR_STRING_1   0x106u
#define TPM_PT_FIRMWARE_VERSION_1 0x10Bu

/* Check a --pcr-banks list without a TPM: NULL when fine, else what is
 * wrong. */
const char *pcr_banks_check(const char *list);

#endif
