/* SPDX-License-Identifier: BSD-3-Clause */
/* Scratch directories for new TPMs, moved into place when complete. */
#include "tools/cli/tpm_dir.h"
#include "backend/state_dir.h"
#include "backend/state_store.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int scratch(const char *dir, char tmp[PATH_MAX])
{
    int n = snprintf(tmp, PATH_MAX, "%s.new.XXXXXX", dir), err = 0;

    if (n < 0 || n >= PATH_MAX)
        err = -ENAMETOOLONG;
    else if (!mkdtemp(tmp))
        err = -errno;
    if (err)
        LOG_ERROR("cannot create a scratch directory beside %s: %s", dir,
                  strerror(-err));
    return err;
}

static int join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int install(const char *tmp, const char *dir)
{
    static const char *const vol[] = { STATE_VOL_FILE ".0",
                                       STATE_VOL_FILE ".1" };
    char from[PATH_MAX], to[PATH_MAX];
    struct state_store *st;
    int err;

    /* As an owner: never under a running VM or pipe. */
    if ((err = state_store_open_locked(dir, STATE_STORE_OWNER, &st)) < 0)
        return err;
    /* The old TPM's volatile state must not outlive it. */
    for (int k = 0; k < 2 && !err; k++) {
        if ((err = join(to, dir, vol[k])) == 0 && unlink(to) < 0 &&
            errno != ENOENT)
            err = -errno;
    }
    if (!err && (err = join(from, tmp, STATE_NV_FILE)) == 0 &&
        (err = join(to, dir, STATE_NV_FILE)) == 0 && rename(from, to) < 0)
        err = -errno;
    for (int k = 0; k < 2 && !err; k++) {
        if ((err = join(from, tmp, vol[k])) == 0 &&
            (err = join(to, dir, vol[k])) == 0 && rename(from, to) < 0 &&
            errno != ENOENT)
            err = -errno;
    }
    if (err)
        LOG_ERROR("cannot move the new TPM into %s: %s", dir,
                strerror(-err));
    state_store_release(st);
    return err;
}

static void discard(const char *tmp)
{
    static const char *const names[] = {
        STATE_NV_FILE, STATE_VOL_FILE ".0", STATE_VOL_FILE ".1", "lock",
        "owner.lock", "." STATE_NV_FILE ".tmp",
    };
    char p[PATH_MAX];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (join(p, tmp, names[i]) == 0)
            unlink(p);
    }
    rmdir(tmp);
}

int tpm_dir_make(const char *dir, int (*make)(const char *tmp, void *opaque),
                 void *opaque)
{
    char tmp[PATH_MAX];
    int err;

    if ((err = scratch(dir, tmp)) < 0)
        return err;
    if ((err = make(tmp, opaque)) == 0)
        err = install(tmp, dir);
    discard(tmp);
    return err;
}

int tpm_dir_own(const char *dir)
{
    int dirfd = state_dir_open(dir), fd;

    if (dirfd < 0)
        return dirfd;
    fd = state_dir_lock(dirfd, dir, STATE_DIR_OWNER);
    close(dirfd);
    return fd;
}

int tpm_dir_open(const char *dir)
{
    return state_dir_open(dir);
}

int tpm_dir_openat(int dirfd, const char *name, int flags)
{
    return state_dir_openat(dirfd, name, flags);
}
