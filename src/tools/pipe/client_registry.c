/* SPDX-License-Identifier: BSD-3-Clause */
/* Live pipes of a state directory and the sessions each holds. */
#include "tools/pipe/client_registry.h"
#include "tools/tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RM_LOCK       "rm.lock"
#define RECORD_PREFIX "rm-client."
#define RECORD_MAGIC  0x4c43524du /* "MRCL" */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* a record never leaves this machine */
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static int lock_fd(int fd, int op)
{
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* Record: u32 magic, u32 count, count u32 handles (host order). */
static int write_record(int fd, const uint32_t *handles, unsigned n)
{
    uint8_t buf[8 + 4 * REGISTRY_MAX_HANDLES];
    size_t len = 8 + 4 * (size_t)n;

    if (n > REGISTRY_MAX_HANDLES)
        return -E2BIG;
    put32(buf, RECORD_MAGIC);
    put32(buf + 4, n);
    for (unsigned i = 0; i < n; i++)
        put32(buf + 8 + 4 * i, handles[i]);
    if (pwrite(fd, buf, len, 0) != (ssize_t)len || ftruncate(fd, len) < 0)
        return errno ? -errno : -EIO;
    return 0;
}

/* A dead client's record: its handles, whatever of it can be read. */
static unsigned read_record(int fd, uint32_t *handles)
{
    uint8_t buf[8 + 4 * REGISTRY_MAX_HANDLES];
    ssize_t got = pread(fd, buf, sizeof(buf), 0);
    uint32_t n;

    if (got < 8 || get32(buf) != RECORD_MAGIC)
        return 0;
    n = get32(buf + 4);
    if (n > REGISTRY_MAX_HANDLES || (size_t)got < 8 + 4 * (size_t)n)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        handles[i] = get32(buf + 8 + 4 * i);
    return n;
}

static bool is_record_name(const char *name)
{
    const char *p = name + strlen(RECORD_PREFIX);

    if (strncmp(name, RECORD_PREFIX, strlen(RECORD_PREFIX)) || !*p)
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int registry_reap(struct client_registry *r, registry_dead_fn dead, void *ctx)
{
    uint32_t handles[REGISTRY_MAX_HANDLES];
    int scan = dup(r->dirfd), err = 0;
    struct dirent *e;
    DIR *d;

    if (scan < 0 || !(d = fdopendir(scan))) {
        err = -errno;
        if (scan >= 0)
            close(scan);
        return err;
    }
    rewinddir(d);
    while (!err && (e = readdir(d))) {
        unsigned n;
        int fd;

        if (!is_record_name(e->d_name))
            continue;
        fd = tpm_dir_openat(r->dirfd, e->d_name, O_RDWR);
        if (fd < 0)
            continue;
        if (fd == r->recfd || flock(fd, LOCK_EX | LOCK_NB) < 0) {
            close(fd); /* a live client (or ourselves) */
            continue;
        }
        n = read_record(fd, handles);
        LOG_DEBUG("%s/%s belonged to a client that died (%u session(s))",
                  r->dir, e->d_name, n);
        err = dead(ctx, handles, n);
        if (!err)
            unlinkat(r->dirfd, e->d_name, 0);
        close(fd);
    }
    closedir(d);
    return err;
}

int registry_open(struct client_registry *r, const char *dir,
                  registry_dead_fn dead, void *ctx)
{
    char name[64];
    int err;

    memset(r, 0, sizeof(*r));
    r->lockfd = r->recfd = -1;
    r->pid = getpid();
    if (!(r->dir = strdup(dir)))
        return -ENOMEM;
    if ((r->dirfd = tpm_dir_open(dir)) < 0)
        return r->dirfd;
    r->lockfd = tpm_dir_openat(r->dirfd, RM_LOCK, O_RDWR | O_CREAT);
    if (r->lockfd < 0) {
        err = -errno;
        LOG_ERROR("cannot open %s/%s: %s", dir, RM_LOCK, strerror(-err));
        return err;
    }
    if ((err = lock_fd(r->lockfd, LOCK_EX)) < 0)
        return err;
    /* Under the lock, so that no other pipe takes this record for a dead
     * one between its creation and its flock. */
    snprintf(name, sizeof(name), RECORD_PREFIX "%ld", (long)r->pid);
    if ((err = registry_reap(r, dead, ctx)) == 0) {
        unlinkat(r->dirfd, name, 0); /* a dead namesake not reaped */
        r->recfd = tpm_dir_openat(r->dirfd, name,
                                    O_RDWR | O_CREAT | O_EXCL);
        if (r->recfd < 0 || lock_fd(r->recfd, LOCK_EX | LOCK_NB) < 0) {
            /* Serve anyway (a full disk must not stop reads); only a
             * death of this pipe would leave its sessions behind. */
            LOG_WARN("cannot register in %s/%s: %s; sessions of this "
                     "client stay in the TPM if it dies", dir, name,
                     strerror(errno));
            if (r->recfd >= 0)
                close(r->recfd);
            r->recfd = -1;
        }
    }
    flock(r->lockfd, LOCK_UN);
    return err;
}

void registry_close(struct client_registry *r, bool keep_record)
{
    char name[64];

    if (r->recfd >= 0) {
        if (keep_record) {
            close(r->recfd);
            r->recfd = -1;
        }
    }
    if (r->recfd >= 0) {
        snprintf(name, sizeof(name), RECORD_PREFIX "%ld", (long)r->pid);
        unlinkat(r->dirfd, name, 0);
        close(r->recfd);
    }
    if (r->lockfd >= 0)
        close(r->lockfd);
    if (r->dirfd >= 0)
        close(r->dirfd);
    free(r->dir);
    memset(r, 0, sizeof(*r));
    r->dirfd = r->lockfd = r->recfd = -1;
}

int registry_begin(struct client_registry *r, bool *interrupted)
{
    uint8_t mark[4];
    ssize_t got;
    int err;

    if ((err = lock_fd(r->lockfd, LOCK_EX)) < 0) {
        LOG_ERROR("cannot lock %s/%s: %s", r->dir, RM_LOCK,
                  strerror(-err));
        return err;
    }
    got = pread(r->lockfd, mark, sizeof(mark), 0);
    *interrupted = got == (ssize_t)sizeof(mark) && get32(mark) != 0;
    if (*interrupted)
        LOG_DEBUG("pid %u died in the middle of a command",
                  get32(mark));
    put32(mark, (uint32_t)r->pid);
    if (pwrite(r->lockfd, mark, sizeof(mark), 0) != (ssize_t)sizeof(mark)) {
        err = errno ? -errno : -EIO;
        flock(r->lockfd, LOCK_UN);
        return err;
    }
    r->in_command = true;
    return 0;
}

void registry_end(struct client_registry *r)
{
    uint8_t mark[4] = { 0, 0, 0, 0 };

    if (!r->in_command)
        return;
    if (pwrite(r->lockfd, mark, sizeof(mark), 0) != (ssize_t)sizeof(mark))
        LOG_WARN("cannot clear %s/%s: %s", r->dir, RM_LOCK,
                 strerror(errno));
    r->in_command = false;
    flock(r->lockfd, LOCK_UN);
}

int registry_record(struct client_registry *r, const uint32_t *handles,
                    unsigned n)
{
    int err = r->recfd < 0 ? 0 : write_record(r->recfd, handles, n);

    if (err < 0)
        LOG_WARN("cannot record the client's sessions in %s: %s", r->dir,
                 strerror(-err));
    return err;
}
