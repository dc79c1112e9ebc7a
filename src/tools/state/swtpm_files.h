/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * swtpm's state files for TPM 2.0, tpm2-00.permall (NV) and
 * tpm2-00.volatilestate, as their file format is (facts from swtpm's
 * source, no code): a 10-byte header (u8 version 2, u8 minimum version 1,
 * be16 header size, be16 flags, be32 total file length), then
 * tag-length-value records (be16 tag, be32 length). Plain: tag 1 holds the
 * libtpms blob. Encrypted (flag 0x1; flag 0x8: 256-bit key): tag 2 holds
 * AES-CBC ciphertext of the blob padded to a multiple of the key length
 * (every pad byte = pad length), tag 6 the IV (key length bytes; the first
 * 16 are used), tag 3 an HMAC-SHA256 with the same key over the
 * ciphertext then the IV. A header of version 1 is followed by the plain
 * blob directly.
 */
#ifndef TPMCRB_SWTPM_FILES_H
#define TPMCRB_SWTPM_FILES_H

#include "tools/cli/state_key.h"

#include <stddef.h>
#include <stdint.h>

#define SWTPM_PERMALL   "tpm2-00.permall"
#define SWTPM_VOLATILE  "tpm2-00.volatilestate"

/* The libtpms blob in the contents of swtpm file @path. An encrypted file
 * needs @key (NULL: none given). Errors are logged naming @path. */
int swtpm_blob_decode(const char *path, const uint8_t *file, size_t len,
                      const struct state_key *key, uint8_t **blob,
                      uint32_t *blob_len);

/* The contents of an swtpm file holding @blob, encrypted when @key. */
int swtpm_blob_encode(const uint8_t *blob, uint32_t blob_len,
                      const struct state_key *key, uint8_t **file,
                      size_t *len);

#endif
