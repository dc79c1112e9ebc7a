/* SPDX-License-Identifier: BSD-3-Clause */
/* State directory: checksummed files, atomic replacement, a per-command lock. */
#include "backend/state_store.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC     "TPMCRBST"
#define STATE_VERSION   1u
#define LOCK_NAME       "lock"

struct state_store {
    char *dir;
    int dirfd;
    int lockfd;
};

/* ------------------------------------------------------------ encoding */

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/*
 * FNV-1a over 64-bit words (then the tail bytes), with a final avalanche.
 * This detects truncation and accidental corruption; it is not meant to
 * resist an attacker who can write the state directory. Word-wise so a
 * per-command save of ~9 KiB costs about a microsecond.
 */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv_update(uint64_t h, const uint8_t *p, size_t len)
{
    for (; len >= 8; p += 8, len -= 8)
        h = (h ^ get_le64(p)) * FNV_PRIME;
    for (; len; p++, len--)
        h = (h ^ *p) * FNV_PRIME;
    return h;
}

uint64_t state_checksum(const uint8_t *hdr40, const uint8_t *data,
                        uint32_t len)
{
    uint64_t h = fnv_update(FNV_OFFSET, hdr40, 40);

    h = fnv_update(h, data, len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static void encode_header(uint8_t *hdr, const struct state_info *info,
                          const uint8_t *data)
{
    memcpy(hdr, STATE_MAGIC, 8);
    put_le32(hdr + 8, STATE_VERSION);
    put_le32(hdr + 12, info->type);
    put_le64(hdr + 16, info->generation);
    put_le64(hdr + 24, info->link);
    put_le32(hdr + 32, info->len);
    put_le32(hdr + 36, 0);
    put_le64(hdr + 40, state_checksum(hdr, data, info->len));
}

/* Checks what the header alone can tell; the checksum needs the payload. */
static const char *decode_header(const uint8_t *hdr, uint32_t type,
                                 uint64_t file_size, struct state_info *info)
{
    if (memcmp(hdr, STATE_MAGIC, 8) != 0)
        return "not a tpmcrb state file (bad magic)";
    if (get_le32(hdr + 8) != STATE_VERSION)
        return "unsupported state file format version";
    info->type = get_le32(hdr + 12);
    info->generation = get_le64(hdr + 16);
    info->link = get_le64(hdr + 24);
    info->len = get_le32(hdr + 32);
    if (info->type != type)
        return "state file of another type";
    if (info->len > STATE_MAX_PAYLOAD)
        return "payload length out of range";
    if (file_size < STATE_HEADER_SIZE + (uint64_t)info->len)
        return "truncated";
    if (file_size > STATE_HEADER_SIZE + (uint64_t)info->len)
        return "trailing bytes after the payload";
    return NULL;
}

/* ------------------------------------------------------------- helpers */

static int full_read(int fd, uint8_t *buf, size_t len, off_t off)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EBADMSG; /* shrank under us: treat as truncated */
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int full_write(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int mkdir_parents(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;

        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = saved;
        if (!saved)
            return 0;
    }
}

/* -------------------------------------------------------------- public */

int state_store_open(const char *dir, struct state_store **out)
{
    struct state_store *st;
    int err;

    if ((err = mkdir_parents(dir)) < 0) {
        LOG_ERROR("cannot create state directory %s: %s", dir, strerror(-err));
        return err;
    }
    st = calloc(1, sizeof(*st));
    if (!st || !(st->dir = strdup(dir))) {
        free(st);
        return -ENOMEM;
    }
    st->lockfd = -1;
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        err = -errno;
        LOG_ERROR("cannot open state directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    st->lockfd = openat(st->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC,
                        0600);
    if (st->lockfd < 0) {
        err = -errno;
        LOG_ERROR("cannot open lock file %s/%s: %s", dir, LOCK_NAME,
                  strerror(errno));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    state_store_close(st);
    return err;
}

void state_store_close(struct state_store *st)
{
    if (!st)
        return;
    if (st->lockfd >= 0)
        close(st->lockfd);
    if (st->dirfd >= 0)
        close(st->dirfd);
    free(st->dir);
    free(st);
}

const char *state_store_dir(const struct state_store *st)
{
    return st->dir;
}

int state_store_lock(struct state_store *st)
{
    while (flock(st->lockfd, LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        LOG_ERROR("cannot lock %s/%s: %s", st->dir, LOCK_NAME, strerror(errno));
        return -errno;
    }
    return 0;
}

void state_store_unlock(struct state_store *st)
{
    flock(st->lockfd, LOCK_UN);
}

/* Open DIR/@name and check its header; returns the fd or a negative errno. */
static int open_checked(struct state_store *st, const char *name,
                        uint32_t type, uint8_t *hdr, struct state_info *info)
{
    struct stat sb;
    const char *why;
    int fd, err;

    fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        if (err != -ENOENT)
            LOG_ERROR("cannot open state file %s/%s: %s", st->dir, name,
                      strerror(errno));
        return err;
    }
    if (fstat(fd, &sb) < 0) {
        err = -errno;
        LOG_ERROR("cannot stat state file %s/%s: %s", st->dir, name,
                  strerror(errno));
        goto fail;
    }
    if (sb.st_size < (off_t)STATE_HEADER_SIZE) {
        why = "shorter than its header (truncated)";
        err = -EBADMSG;
        goto bad;
    }
    if ((err = full_read(fd, hdr, STATE_HEADER_SIZE, 0)) < 0) {
        why = "read error";
        goto bad;
    }
    if ((why = decode_header(hdr, type, (uint64_t)sb.st_size, info))) {
        err = -EBADMSG;
        goto bad;
    }
    return fd;
bad:
    LOG_ERROR("state file %s/%s is unusable: %s%s%s; it was left untouched "
              "(move it away to start from a fresh TPM)", st->dir, name, why,
              err == -EBADMSG ? "" : ": ",
              err == -EBADMSG ? "" : strerror(-err));
fail:
    close(fd);
    return err;
}

int state_store_peek(struct state_store *st, const char *name, uint32_t type,
                     struct state_info *info)
{
    uint8_t hdr[STATE_HEADER_SIZE];
    int fd = open_checked(st, name, type, hdr, info);

    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int state_store_read(struct state_store *st, const char *name, uint32_t type,
                     uint8_t **data, struct state_info *info)
{
    uint8_t hdr[STATE_HEADER_SIZE];
    uint8_t *buf;
    int fd, err;

    *data = NULL;
    if ((fd = open_checked(st, name, type, hdr, info)) < 0)
        return fd;
    buf = malloc(info->len ? info->len : 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    err = full_read(fd, buf, info->len, STATE_HEADER_SIZE);
    close(fd);
    if (err < 0) {
        LOG_ERROR("cannot read state file %s/%s: %s", st->dir, name,
                  strerror(-err));
    } else if (state_checksum(hdr, buf, info->len) != get_le64(hdr + 40)) {
        LOG_ERROR("state file %s/%s is corrupt (checksum mismatch); it was "
                  "left untouched (move it away to start from a fresh TPM)",
                  st->dir, name);
        err = -EBADMSG;
    }
    if (err < 0) {
        free(buf);
        return err;
    }
    *data = buf;
    return 0;
}

int state_store_write(struct state_store *st, const char *name,
                      const struct state_info *info, const uint8_t *data,
                      bool durable)
{
    char tmp[NAME_MAX + 1];
    uint8_t hdr[STATE_HEADER_SIZE];
    const char *what;
    int fd, err;

    if (info->len > STATE_MAX_PAYLOAD)
        return -EFBIG;
    /* One fixed temporary name: every writer holds the lock, and a file
     * left by a crashed writer is simply overwritten next time. */
    if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
        return -ENAMETOOLONG;
    encode_header(hdr, info, data);

    what = "create";
    fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = -errno;
        goto fail;
    }
    what = "write";
    err = full_write(fd, hdr, sizeof(hdr));
    if (!err)
        err = full_write(fd, data, info->len);
    if (!err && durable && fdatasync(fd) < 0) {
        what = "fsync";
        err = -errno;
    }
    if (close(fd) < 0 && !err)
        err = -errno;
    if (err)
        goto fail_unlink;
    what = "rename";
    if (renameat(st->dirfd, tmp, st->dirfd, name) < 0) {
        err = -errno;
        goto fail_unlink;
    }
    if (durable && fsync(st->dirfd) < 0) {
        err = -errno;
        LOG_ERROR("cannot fsync state directory %s after writing %s: %s",
                  st->dir, name, strerror(-err));
        return err;
    }
    return 0;
fail_unlink:
    unlinkat(st->dirfd, tmp, 0);
fail:
    LOG_ERROR("cannot save state file %s/%s (%s of %s failed): %s", st->dir,
              name, what, tmp, strerror(-err));
    return err;
}

int state_store_remove(struct state_store *st, const char *name, bool durable)
{
    if (unlinkat(st->dirfd, name, 0) < 0) {
        if (errno == ENOENT)
            return 0;
        LOG_ERROR("cannot remove state file %s/%s: %s", st->dir, name,
                  strerror(errno));
        return -errno;
    }
    if (durable && fsync(st->dirfd) < 0) {
        LOG_ERROR("cannot fsync state directory %s: %s", st->dir,
                  strerror(errno));
        return -errno;
    }
    return 0;
}
