/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state directory itself: whether it can be trusted, and who uses it.
 *
 * A state directory holds the TPM's seeds. One that another user owns, or
 * that others can write, lets them plant symlinks or swap files, so it is
 * refused. Files inside are opened relative to the directory's fd and
 * never through a symlink.
 *
 * Every user of a directory holds DIR/owner.lock for as long as it uses
 * it: a long-lived owner (a VM, `tpmcrb serve`, a library user with
 * TPMCRB_STATE_SYNC_OWNER) exclusively, the short-lived per-command
 * processes (`tpmcrb pipe`) shared among themselves. So two owners, or an
 * owner and a pipe, never run on one directory; the one refused is told
 * the pid of a holder.
 */
#ifndef TPMCRB_STATE_DIR_H
#define TPMCRB_STATE_DIR_H

#include <stdbool.h>

/* Open @dir, creating it (mode 0700; not its parents) when missing, and
 * check it: a directory, owned by the effective user, not writable by group
 * or others. Returns an O_DIRECTORY fd, or a negative errno after logging
 * why the directory was refused. */
int state_dir_open(const char *dir);

enum state_dir_use {
    STATE_DIR_OWNER,    /* exclusive, for the life of the user */
    STATE_DIR_SHARED,   /* shared among per-command processes */
};

/* Take the lifetime lock of the directory open as @dirfd (@dir names it in
 * messages). Returns the lock's fd (keep it open; close it to release), or
 * -EBUSY after logging which process holds the directory. */
int state_dir_lock(int dirfd, const char *dir, enum state_dir_use use);

/* openat() of a file in the state directory that never follows a symlink;
 * with O_CREAT the mode is 0600. */
int state_dir_openat(int dirfd, const char *name, int flags);

#endif
