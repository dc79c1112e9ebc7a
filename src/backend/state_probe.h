/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a directory given as --state holds, before a TPM is made in it: a
 * new TPM goes only into an empty or missing directory (or one with
 * tpmcrb's own files), never beside someone else's files or another
 * emulator's state.
 */
#ifndef TPMCRB_STATE_PROBE_H
#define TPMCRB_STATE_PROBE_H

#include <stddef.h>

/* The files of the libtpms backend's state, and their state_store types. */
#define STATE_NV_FILE  "tpm2-nv.state"
#define STATE_VOL_FILE "tpm2-volatile.state"
#define STATE_TYPE_NV  0x564e3254u /* "T2NV" */
#define STATE_TYPE_VOL 0x4c4f5654u /* "TVOL" */

enum state_dir_kind {
    STATE_DIR_MISSING,   /* does not exist */
    STATE_DIR_EMPTY,     /* nothing, or only a lock/temporary file of ours */
    STATE_DIR_TPMCRB,    /* holds tpmcrb's NV state */
    STATE_DIR_SWTPM,     /* holds swtpm's tpm2-00.permall */
    STATE_DIR_FOREIGN,   /* holds something else (*what names it) */
    STATE_DIR_ERROR,     /* cannot be read (*what says why) */
};

/* Classify @dir; @what (of @cap bytes) names the file that decided it. */
enum state_dir_kind state_dir_probe(const char *dir, char *what, size_t cap);

/* Log why a TPM will not be created in @dir (kind SWTPM/FOREIGN/ERROR;
 * TPMCRB for swtpm), with what to do instead. */
void state_dir_refuse(const char *dir, enum state_dir_kind kind,
                      const char *what);

#endif
