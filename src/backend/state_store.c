/* SPDX-License-Identifier: BSD-3-Clause */
/* State directory: checksummed files, atomic replacement, a per-command lock. */
#include "backend/state_store.h"
#include "backend/state_dir.h"
#include "util/byteorder.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define STATE_MAGIC     "TPMCRBST"
#define STATE_VERSION   1u
#define LOCK_NAME       "lock"

/* What to do about an unusable file. A whole file holds what the TPM keeps
 * (its NV state: seeds, NV indices); slots hold what it may lose (the
 * volatile state: PCRs, loaded sessions), which a fresh boot does without. */
#define STATE_FILE_ADVICE \
    "(restore it from a backup; moving it away starts a new TPM with new " \
    "seeds and no NV indices)"
#define SLOT_FILE_ADVICE \
    "(a fresh boot does without volatile state: start with --power-cycle, " \
    "the backend option power_cycle; NV state is kept, PCRs and sessions " \
    "are lost)"

struct state_store {
    char *dir;
    int dirfd;
    int lockfd;
    int owner_fd;   /* lifetime lock (state_dir.h), or -1 */
    /* Slotted state: open slot files (kept open: they are rewritten in
     * place, never replaced) and which slot holds the current state. */
    char slot_name[64];
    int slot_fd[2];
    int cur_slot;   /* -1: not known yet */
};

/* ------------------------------------------------------------ encoding */

/*
 * FNV-1a over 64-bit words (then the tail bytes), with a final avalanche.
 * This detects truncation and accidental corruption; it is not meant to
 * resist an attacker who can write the state directory. Word-wise, so that
 * the per-command save of the volatile state stays cheap.
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
    put_le32(hdr + 36, info->flags);
    put_le64(hdr + 40, state_checksum(hdr, data, info->len));
}

/* Checks what the header alone can tell; the checksum needs the payload. */
static const char *decode_header(const uint8_t *hdr, uint32_t type,
                                 uint64_t file_size, bool exact,
                                 struct state_info *info)
{
    if (memcmp(hdr, STATE_MAGIC, 8) != 0)
        return "not a tpmcrb state file (bad magic)";
    if (get_le32(hdr + 8) != STATE_VERSION)
        return "unsupported state file format version";
    info->type = get_le32(hdr + 12);
    info->generation = get_le64(hdr + 16);
    info->link = get_le64(hdr + 24);
    info->len = get_le32(hdr + 32);
    info->flags = get_le32(hdr + 36);
    if (info->type != type)
        return "state file of another type";
    if (info->len > STATE_MAX_PAYLOAD)
        return "payload length out of range";
    if (file_size < STATE_HEADER_SIZE + (uint64_t)info->len)
        return "truncated";
    /* A slot file keeps the tail of a longer earlier payload. */
    if (exact && file_size > STATE_HEADER_SIZE + (uint64_t)info->len)
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

/* -------------------------------------------------------------- public */

int state_store_open_as(const char *dir, enum state_store_use use,
                        struct state_store **out)
{
    struct state_store *st;
    int err;

    st = calloc(1, sizeof(*st));
    if (!st || !(st->dir = strdup(dir))) {
        free(st);
        return -ENOMEM;
    }
    st->lockfd = st->owner_fd = -1;
    st->slot_fd[0] = st->slot_fd[1] = -1;
    st->cur_slot = -1;
    if ((st->dirfd = state_dir_open(dir)) < 0) {
        err = st->dirfd;
        goto fail;
    }
    if (use != STATE_STORE_INSPECT &&
        (st->owner_fd = state_dir_lock(st->dirfd, dir,
                                       use == STATE_STORE_OWNER
                                           ? STATE_DIR_OWNER
                                           : STATE_DIR_SHARED)) < 0) {
        err = st->owner_fd;
        goto fail;
    }
    st->lockfd = state_dir_openat(st->dirfd, LOCK_NAME, O_RDWR | O_CREAT);
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

int state_store_open(const char *dir, struct state_store **out)
{
    return state_store_open_as(dir, STATE_STORE_INSPECT, out);
}

void state_store_close(struct state_store *st)
{
    if (!st)
        return;
    for (int k = 0; k < 2; k++)
        if (st->slot_fd[k] >= 0)
            close(st->slot_fd[k]);
    if (st->lockfd >= 0)
        close(st->lockfd);
    if (st->owner_fd >= 0)
        close(st->owner_fd);
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

    fd = state_dir_openat(st->dirfd, name, O_RDONLY);
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
    if ((why = decode_header(hdr, type, (uint64_t)sb.st_size, true, info))) {
        err = -EBADMSG;
        goto bad;
    }
    return fd;
bad:
    LOG_ERROR("state file %s/%s is unusable: %s%s%s; it was left untouched "
              STATE_FILE_ADVICE, st->dir, name, why,
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

static int plain_read(struct state_store *st, const char *name, uint32_t type,
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
                  "left untouched " STATE_FILE_ADVICE, st->dir, name);
        err = -EBADMSG;
    }
    if (err < 0) {
        free(buf);
        return err;
    }
    *data = buf;
    return 0;
}

static int plain_write(struct state_store *st, const char *name,
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
     * left by a crashed writer is removed and created afresh. */
    if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
        return -ENAMETOOLONG;
    encode_header(hdr, info, data);

    what = "create";
    fd = state_dir_openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a writer that died; whatever it is (even a planted
         * symlink), it is removed, never followed. */
        unlinkat(st->dirfd, tmp, 0);
        fd = state_dir_openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL);
    }
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

/* ------------------------------------------------------- slotted state */

static void slots_close(struct state_store *st)
{
    for (int k = 0; k < 2; k++) {
        if (st->slot_fd[k] >= 0)
            close(st->slot_fd[k]);
        st->slot_fd[k] = -1;
    }
    st->cur_slot = -1;
}

static void slots_forget(struct state_store *st)
{
    slots_close(st);
    st->slot_name[0] = '\0';
}

/* Whether another process sharing the directory removed this open slot
 * file (a fresh boot discards the volatile state): reads would see a state
 * nobody else sees, writes would go where nobody reads. Both slots are then
 * opened again and the current one found again. */
static bool slot_unlinked(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) < 0 || sb.st_nlink == 0;
}

static void slots_drop_unlinked(struct state_store *st)
{
    for (int k = 0; k < 2; k++) {
        if (st->slot_fd[k] >= 0 && slot_unlinked(st->slot_fd[k])) {
            slots_close(st);
            return;
        }
    }
}

static void slot_path(char *buf, size_t cap, const char *name, int k)
{
    snprintf(buf, cap, "%s.%d", name, k);
}

/* The fd of slot @k of @name; -ENOENT when it does not exist and !@create.
 * *created tells the caller to make the new directory entry durable. */
static int slot_open(struct state_store *st, const char *name, int k,
                     bool create, bool *created)
{
    char file[NAME_MAX + 1];
    int fd;

    if (strcmp(st->slot_name, name)) {
        if (strlen(name) >= sizeof(st->slot_name))
            return -ENAMETOOLONG;
        slots_forget(st);
        strcpy(st->slot_name, name);
    }
    if (created)
        *created = false;
    if (st->slot_fd[k] >= 0 && slot_unlinked(st->slot_fd[k]))
        slots_close(st);
    if (st->slot_fd[k] >= 0)
        return st->slot_fd[k];
    slot_path(file, sizeof(file), name, k);
    fd = state_dir_openat(st->dirfd, file, O_RDWR);
    if (fd < 0 && errno == ENOENT && create) {
        fd = state_dir_openat(st->dirfd, file, O_RDWR | O_CREAT | O_EXCL);
        if (created)
            *created = fd >= 0;
    }
    if (fd < 0) {
        int err = -errno;

        if (err != -ENOENT)
            LOG_ERROR("cannot open state file %s/%s: %s", st->dir, file,
                      strerror(errno));
        return err;
    }
    st->slot_fd[k] = fd;
    return fd;
}

/* Read and check slot @k: 0, -ENOENT, -EBADMSG (with *why), or an I/O
 * error (logged). */
static int slot_read(struct state_store *st, const char *name, int k,
                     uint32_t type, uint8_t **data, struct state_info *info,
                     const char **why)
{
    uint8_t hdr[STATE_HEADER_SIZE];
    struct stat sb;
    uint8_t *buf;
    int fd, err;

    *data = NULL;
    if ((fd = slot_open(st, name, k, false, NULL)) < 0)
        return fd;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if (sb.st_size < (off_t)STATE_HEADER_SIZE) {
        *why = "shorter than its header (truncated)";
        return -EBADMSG;
    }
    if ((err = full_read(fd, hdr, sizeof(hdr), 0)) < 0)
        return err;
    if ((*why = decode_header(hdr, type, (uint64_t)sb.st_size, false, info)))
        return -EBADMSG;
    if (!(buf = malloc(info->len ? info->len : 1)))
        return -ENOMEM;
    if ((err = full_read(fd, buf, info->len, STATE_HEADER_SIZE)) < 0) {
        free(buf);
        return err;
    }
    if (state_checksum(hdr, buf, info->len) != get_le64(hdr + 40)) {
        free(buf);
        *why = "checksum mismatch";
        return -EBADMSG;
    }
    *data = buf;
    return 0;
}

static void report_slot(struct state_store *st, const char *name, int k,
                        int err, const char *why, bool fatal)
{
    char file[NAME_MAX + 1];

    slot_path(file, sizeof(file), name, k);
    if (err == -EBADMSG && fatal)
        LOG_ERROR("state file %s/%s is unusable: %s; it was left untouched "
                  SLOT_FILE_ADVICE, st->dir, file,
                  why);
    else if (err == -EBADMSG)
        LOG_DEBUG("state file %s/%s ignored: %s (an interrupted write; the "
                  "other slot is current)", st->dir, file, why);
    else if (err < 0 && err != -ENOENT)
        LOG_ERROR("cannot read state file %s/%s: %s", st->dir, file,
                  strerror(-err));
}

static int plain_read_slots(struct state_store *st, const char *name,
                           uint32_t type, uint8_t **data,
                           struct state_info *info)
{
    struct state_info si[2] = { { 0 }, { 0 } };
    const char *why[2] = { NULL, NULL };
    uint8_t *buf[2];
    int err[2], best;

    for (int k = 0; k < 2; k++)
        err[k] = slot_read(st, name, k, type, &buf[k], &si[k], &why[k]);
    best = err[0] ? 1 : err[1] ? 0 : si[1].generation > si[0].generation;
    if (err[best] == 0 && (err[!best] == 0 || err[!best] == -ENOENT ||
                           err[!best] == -EBADMSG)) {
        report_slot(st, name, !best, err[!best], why[!best], false);
        free(buf[!best]);
        *data = buf[best];
        *info = si[best];
        st->cur_slot = best;
        return 0;
    }
    free(buf[0]);
    free(buf[1]);
    *data = NULL;
    if (err[0] == -ENOENT && err[1] == -ENOENT)
        return -ENOENT;
    for (int k = 0; k < 2; k++)
        report_slot(st, name, k, err[k], why[k], true);
    return err[best] != -ENOENT && err[best] != -EBADMSG ? err[best] :
           err[!best] != -ENOENT && err[!best] != -EBADMSG ? err[!best] :
           -EBADMSG;
}

int state_store_peek_slots(struct state_store *st, const char *name,
                           uint32_t type, struct state_info *info)
{
    uint8_t hdr[STATE_HEADER_SIZE];
    struct state_info si;
    bool found = false, exists = false;
    int fd, err;

    for (int k = 0; k < 2; k++) {
        if ((fd = slot_open(st, name, k, false, NULL)) == -ENOENT)
            continue;
        if (fd < 0)
            return fd;
        exists = true;
        err = full_read(fd, hdr, sizeof(hdr), 0);
        if (err == -EBADMSG)
            continue; /* shorter than a header: torn */
        if (err < 0)
            return err;
        if (decode_header(hdr, type, UINT64_MAX, false, &si))
            continue;
        if (!found || si.generation > info->generation)
            *info = si;
        found = true;
    }
    if (found)
        return 0;
    if (!exists)
        return -ENOENT;
    LOG_ERROR("state files %s/%s.0 and .1 have no valid header; they were "
              "left untouched " SLOT_FILE_ADVICE,
              st->dir, name);
    return -EBADMSG;
}

static int pwrite_all(int fd, const uint8_t *hdr, const uint8_t *data,
                      uint32_t len)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)hdr, .iov_len = STATE_HEADER_SIZE },
        { .iov_base = (void *)data, .iov_len = len },
    };
    size_t total = STATE_HEADER_SIZE + (size_t)len, done = 0;

    while (done < total) {
        ssize_t n = pwritev(fd, iov, 2, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
        /* Advance the iovecs past what was written. */
        for (int i = 0; i < 2; i++) {
            size_t step = (size_t)n < iov[i].iov_len ? (size_t)n
                                                       : iov[i].iov_len;

            iov[i].iov_base = (uint8_t *)iov[i].iov_base + step;
            iov[i].iov_len -= step;
            n -= (ssize_t)step;
        }
    }
    return 0;
}

static int plain_write_slots(struct state_store *st, const char *name,
                            const struct state_info *info, const uint8_t *data,
                            bool durable)
{
    uint8_t hdr[STATE_HEADER_SIZE];
    char file[NAME_MAX + 1];
    const char *what = "open";
    bool created;
    int target, fd, err;

    if (info->len > STATE_MAX_PAYLOAD)
        return -EFBIG;
    /* Before choosing the slot to write: the current one is known only
     * for the files on disk. */
    if (!strcmp(st->slot_name, name))
        slots_drop_unlinked(st);
    if (strcmp(st->slot_name, name) || st->cur_slot < 0) {
        /* Find the current slot once; it must not be the one we write. */
        struct state_info cur;
        uint8_t *buf = NULL;

        err = plain_read_slots(st, name, info->type, &buf, &cur);
        free(buf);
        if (err < 0 && err != -ENOENT)
            return err;
    }
    target = st->cur_slot < 0 ? 0 : !st->cur_slot;
    slot_path(file, sizeof(file), name, target);
    encode_header(hdr, info, data);
    if ((err = fd = slot_open(st, name, target, true, &created)) < 0)
        goto fail;
    what = "write";
    if ((err = pwrite_all(fd, hdr, data, info->len)) < 0)
        goto fail;
    what = "fsync";
    if (durable && (fdatasync(fd) < 0 || (created && fsync(st->dirfd) < 0))) {
        err = -errno;
        goto fail;
    }
    st->cur_slot = target;
    return 0;
fail:
    LOG_ERROR("cannot save state file %s/%s (%s failed): %s", st->dir, file,
              what, strerror(-err));
    return err;
}

int state_store_remove_slots(struct state_store *st, const char *name,
                             bool durable)
{
    char file[NAME_MAX + 1];
    int err = 0;

    if (!strcmp(st->slot_name, name))
        slots_forget(st);
    for (int k = 0; k < 2; k++) {
        slot_path(file, sizeof(file), name, k);
        if ((err = state_store_remove(st, file, false)) < 0)
            return err;
    }
    if (durable && fsync(st->dirfd) < 0) {
        LOG_ERROR("cannot fsync state directory %s: %s", st->dir,
                  strerror(errno));
        return -errno;
    }
    return 0;
}

/* ---------------------------------------------------- encryption at rest */

static const struct state_cipher *cipher;

void state_store_set_cipher(const struct state_cipher *c)
{
    cipher = c;
}

/* What the seal authenticates besides the payload: the file's name and
 * the header fields that give the payload its meaning. */
static uint32_t seal_aad(uint8_t *aad, const char *name,
                         const struct state_info *info)
{
    size_t n = strnlen(name, NAME_MAX);

    memcpy(aad, STATE_MAGIC, 8);
    put_le32(aad + 8, info->type);
    put_le64(aad + 12, info->generation);
    put_le64(aad + 20, info->link);
    put_le32(aad + 28, info->flags);
    memcpy(aad + 32, name, n);
    return (uint32_t)(32 + n);
}

/* @data sealed into a malloc'd *out, described by *si. */
static int seal(const char *name, const struct state_info *info,
                const uint8_t *data, struct state_info *si, uint8_t **out)
{
    uint8_t aad[32 + NAME_MAX];
    uint32_t aad_len;
    int err;

    if (info->len > STATE_MAX_PAYLOAD - cipher->overhead)
        return -EFBIG;
    *si = *info;
    si->flags |= STATE_FLAG_SEALED;
    si->len = info->len + cipher->overhead;
    aad_len = seal_aad(aad, name, si);
    if (!(*out = malloc(si->len)))
        return -ENOMEM;
    if ((err = cipher->seal(cipher->opaque, aad, aad_len, data, info->len,
                            *out)) < 0) {
        free(*out);
        return err;
    }
    return 0;
}

/* Open a payload read from DIR/@file in place (*data, *info). */
static int unseal(struct state_store *st, const char *file, const char *name,
                  uint8_t **data, struct state_info *info)
{
    uint8_t aad[32 + NAME_MAX];
    uint32_t aad_len;
    uint8_t *plain;
    int err;

    if (!(info->flags & STATE_FLAG_SEALED) && !cipher)
        return 0;
    if (!(info->flags & STATE_FLAG_SEALED)) {
        LOG_ERROR("state file %s/%s is not encrypted but a key was given: "
                  "it was left untouched (run without --key, or re-import "
                  "the state with --key to encrypt it)", st->dir, file);
        err = -EKEYREJECTED;
        goto fail;
    }
    if (!cipher) {
        LOG_ERROR("state file %s/%s is encrypted: give its key with --key "
                  "file=PATH; it was left untouched", st->dir, file);
        err = -ENOKEY;
        goto fail;
    }
    if (info->len < cipher->overhead) {
        LOG_ERROR("state file %s/%s is unusable: encrypted payload shorter "
                  "than its seal; it was left untouched", st->dir, file);
        err = -EBADMSG;
        goto fail;
    }
    aad_len = seal_aad(aad, name, info);
    if (!(plain = malloc(info->len - cipher->overhead + 1))) {
        err = -ENOMEM;
        goto fail;
    }
    err = cipher->open(cipher->opaque, aad, aad_len, *data, info->len, plain);
    if (err < 0) {
        free(plain);
        LOG_ERROR("cannot decrypt state file %s/%s: wrong key, or the file "
                  "was altered; it was left untouched", st->dir, file);
        err = -EKEYREJECTED;
        goto fail;
    }
    free(*data);
    *data = plain;
    info->len -= cipher->overhead;
    info->flags &= ~STATE_FLAG_SEALED;
    return 0;
fail:
    free(*data);
    *data = NULL;
    return err;
}

int state_store_read(struct state_store *st, const char *name, uint32_t type,
                     uint8_t **data, struct state_info *info)
{
    int err = plain_read(st, name, type, data, info);

    return err < 0 ? err : unseal(st, name, name, data, info);
}

typedef int (*plain_write_fn)(struct state_store *st, const char *name,
                              const struct state_info *info,
                              const uint8_t *data, bool durable);

/* @write with the payload sealed first when there is a cipher. */
static int sealed_write(plain_write_fn write, struct state_store *st,
                        const char *name, const struct state_info *info,
                        const uint8_t *data, bool durable)
{
    struct state_info si;
    uint8_t *sealed;
    int err;

    if (!cipher)
        return write(st, name, info, data, durable);
    if ((err = seal(name, info, data, &si, &sealed)) < 0) {
        LOG_ERROR("cannot encrypt state file %s/%s: %s", st->dir, name,
                  strerror(-err));
        return err;
    }
    err = write(st, name, &si, sealed, durable);
    free(sealed);
    return err;
}

int state_store_write(struct state_store *st, const char *name,
                      const struct state_info *info, const uint8_t *data,
                      bool durable)
{
    return sealed_write(plain_write, st, name, info, data, durable);
}

int state_store_read_slots(struct state_store *st, const char *name,
                           uint32_t type, uint8_t **data,
                           struct state_info *info)
{
    char file[NAME_MAX + 1];
    int err = plain_read_slots(st, name, type, data, info);

    if (err < 0)
        return err;
    slot_path(file, sizeof(file), name, st->cur_slot);
    return unseal(st, file, name, data, info);
}

int state_store_write_slots(struct state_store *st, const char *name,
                            const struct state_info *info, const uint8_t *data,
                            bool durable)
{
    return sealed_write(plain_write_slots, st, name, info, data, durable);
}

int state_store_open_locked(const char *dir, enum state_store_use use,
                            struct state_store **out)
{
    int err = state_store_open_as(dir, use, out);

    if (err < 0)
        return err;
    if ((err = state_store_lock(*out)) < 0) {
        state_store_close(*out);
        *out = NULL;
    }
    return err;
}

void state_store_release(struct state_store *st)
{
    state_store_unlock(st);
    state_store_close(st);
}
