/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A new TPM for a state directory is made in a scratch directory beside
 * it and moved in only when complete (`setup`, `state import-swtpm`): a
 * failure on the way leaves the state directory as it was. What a
 * directory holds before a TPM is made in it (state_dir_probe) and the
 * names of the TPM's files come with it, from backend/state_probe.h.
 */
#ifndef TPMCRB_TPM_DIR_H
#define TPMCRB_TPM_DIR_H

#include "backend/state_probe.h"

#include <limits.h>

/* Make a new TPM for @dir: @make(tmp, @opaque) fills a scratch directory
 * DIR.new.XXXXXX (0700) beside @dir, which is then moved into @dir
 * (created if missing) under @dir's lock, replacing the TPM there: its
 * volatile state goes first, then the NV file is renamed over, then the
 * new volatile state. The scratch directory is removed whatever happens.
 * Returns 0, @make's negative errno, or the scratch directory's or the
 * move's. */
int tpm_dir_make(const char *dir, int (*make)(const char *tmp, void *opaque),
                 void *opaque);

/* Own @dir for the life of the process (the library's owners do the same
 * through the backend): checked as a state directory must be, created if
 * missing, locked exclusively. Returns the lock's fd, or a negative errno
 * after logging why (another user is named by pid). */
int tpm_dir_own(const char *dir);

/* The checked state directory @dir as an O_DIRECTORY fd, and files in it
 * opened without following symlinks (created 0600): for the tools' own
 * files beside the TPM's. Negative errno (logged by tpm_dir_open). */
int tpm_dir_open(const char *dir);
int tpm_dir_openat(int dirfd, const char *name, int flags);

#endif
