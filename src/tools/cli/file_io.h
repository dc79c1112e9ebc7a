/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-file reads and atomic whole-file writes for the tools' own files
 * (CA keys and certificates, swtpm state files, snapshots): no symlinks
 * followed, secrets created 0600, a write lands completely or not at all.
 * Errors are logged naming the file.
 */
#ifndef TPMCRB_FILE_IO_H
#define TPMCRB_FILE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read @path (at most @max bytes). -ENOENT is not printed when @quiet_enoent. */
int file_read_all(const char *path, size_t max,
                  bool quiet_enoent, uint8_t **data, size_t *len);

/* Replace @path: temporary file beside it, write, fsync, rename, fsync the
 * directory. @mode is the new file's mode (0600 for secrets). */
int file_write_atomic(const char *path, const void *data,
                      size_t len, unsigned mode);

/* mkdir @path with mode 0700 unless it exists as a directory. With
 * @parents, missing parents are created too (0700). */
/* All of @len bytes to @fd, across short writes and EINTR: 0 or -errno
 * (-EIO when nothing could be written). */
int fd_write_all(int fd, const void *buf, size_t len);

int dir_make(const char *path, bool parents);

#endif
