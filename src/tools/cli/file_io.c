/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/file_io.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max,
                  bool quiet_enoent, uint8_t **data, size_t *len)
{
    struct stat sb;
    uint8_t *p;
    size_t got = 0;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        err = -errno;
        if (!(quiet_enoent && err == -ENOENT))
            LOG_ERROR("cannot open %s: %s", path,
                    strerror(errno));
        return err;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        err = S_ISREG(sb.st_mode) ? -errno : -EINVAL;
        LOG_ERROR("%s is not a regular file", path);
        close(fd);
        return err;
    }
    if ((uint64_t)sb.st_size > max) {
        LOG_ERROR("%s is too large (%lld bytes, at most %zu)", path, (long long)sb.st_size, max);
        close(fd);
        return -EFBIG;
    }
    p = malloc(sb.st_size ? (size_t)sb.st_size : 1);
    if (!p) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? -errno : -EIO;
            LOG_ERROR("cannot read %s: %s", path,
                    n < 0 ? strerror(errno) : "file shrank while read");
            free(p);
            close(fd);
            return err;
        }
        got += (size_t)n;
    }
    close(fd);
    *data = p;
    *len = got;
    return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd, err = 0;

    if (!copy)
        return -ENOMEM;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        err = -errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    return err;
}

int file_write_atomic(const char *path, const void *data,
                      size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    const char *what = "create";
    int fd, err = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              (mode_t)mode);
    if (fd < 0) {
        err = -errno;
        goto fail;
    }
    what = "write";
    err = fd_write_all(fd, data, len);
    if (!err && fsync(fd) < 0) {
        what = "fsync";
        err = -errno;
    }
    if (close(fd) < 0 && !err)
        err = -errno;
    if (!err && rename(tmp, path) < 0) {
        what = "rename";
        err = -errno;
    }
    if (err) {
        unlink(tmp);
        goto fail;
    }
    return fsync_dir_of(path);
fail:
    LOG_ERROR("cannot write %s (%s failed): %s", path, what,
            strerror(-err));
    return err;
}

int dir_make(const char *path, bool parents)
{
    struct stat sb;

    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        LOG_ERROR("%s exists and is not a directory", path);
        return -ENOTDIR;
    }
    if (errno == ENOENT && parents) {
        char *copy = strdup(path);
        int err;

        if (!copy)
            return -ENOMEM;
        err = dir_make(dirname(copy), true);
        free(copy);
        if (err < 0)
            return err;
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        int err = -errno;

        LOG_ERROR("cannot create directory %s: %s", path,
                strerror(errno));
        return err;
    }
    return 0;
}
