/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The libtpms backend's state directory as two blobs, for tools that move
 * a TPM in and out (`tpmcrb state import-swtpm`, `export-swtpm`): the
 * permanent (NV) state and, when the directory has one that belongs to it,
 * the volatile state. Both are libtpms's own blobs (TPMLIB_GetState()).
 */
#ifndef TPMCRB_LIBTPMS_FILES_H
#define TPMCRB_LIBTPMS_FILES_H

#include <stdint.h>

struct libtpms_blobs {
    uint8_t *nv;
    uint32_t nv_len;
    uint8_t *vol;       /* NULL: none (the TPM starts with TPM2_Startup) */
    uint32_t vol_len;
};

/* Read the TPM of @dir under its lock. -ENOENT when @dir holds none;
 * corrupt files are reported naming them. */
int libtpms_blobs_read(const char *dir, struct libtpms_blobs *b);

/* Write @b as the TPM of @dir, which must hold none yet (a fresh
 * directory that the caller then moves into place). */
int libtpms_blobs_write(const char *dir, const struct libtpms_blobs *b);

void libtpms_blobs_free(struct libtpms_blobs *b);

#endif
