/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --key file=PATH[,format=hex|binary][,mode=...][,remove=true|false]: a
 * key in swtpm's syntax. For tpmcrb's own state it must be 256 bits: it
 * seals every state file (AES-256-GCM through OpenSSL, installed as the
 * state store's cipher) and the snapshots the tools write. swtpm's files
 * may also use a 128-bit key (its aes-cbc mode).
 */
#ifndef TPMCRB_STATE_KEY_H
#define TPMCRB_STATE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state_key {
    uint8_t bytes[32];
    size_t len;            /* 16 or 32 */
    char path[4096];       /* where it came from, for messages */
};

/* Parse @spec and read the key file. Errors are logged naming the file
 * and the problem. */
int state_key_load(const char *spec, struct state_key *k);

/* Seal every state file this process writes with @k (256 bits), and
 * require that every state file it reads was sealed with it. */
int state_key_install(const struct state_key *k);

/* --key given to a command that runs a TPM on backend @backend (NULL:
 * libtpms): load and install it (nothing when @spec is NULL). Only the
 * libtpms backend keeps its state in tpmcrb's files. */
int state_key_use(const char *spec, const char *backend);

/* Snapshot and other whole files: the sealed envelope of @data (with
 * @k: "TPMCRBSEALED\0\0\0\1", then gcm_seal()'s output), or a plain copy
 * without @k. */
int sealed_file_write(const struct state_key *k, const char *path,
                      const uint8_t *data, size_t len);
/* Read @path; a sealed file needs @k. A plain file is read as it is
 * when @plain_ok, else refused when @k is given. */
int sealed_file_read(const struct state_key *k, const char *path,
                     size_t max, bool plain_ok, uint8_t **data, size_t *len);

/* AES-256-GCM under a key derived from @k for this one seal (a random
 * 16-byte salt), over @in into @out (len + GCM_OVERHEAD bytes: salt,
 * 12-byte nonce, ciphertext, 16-byte tag), authenticating @aad; and back
 * (-EBADMSG: wrong key or altered data). */
int gcm_seal(const struct state_key *k, const uint8_t *aad, size_t aad_len,
             const uint8_t *in, size_t len, uint8_t *out);
int gcm_open(const struct state_key *k, const uint8_t *aad, size_t aad_len,
             const uint8_t *in, size_t len, uint8_t *out);
#define GCM_OVERHEAD 44u

#endif
