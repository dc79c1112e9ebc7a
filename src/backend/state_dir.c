/* SPDX-License-Identifier: BSD-3-Clause */
/* State directory checks and its lifetime lock. */
#include "backend/state_dir.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OWNER_LOCK "owner.lock"
#define OWNER_PATIENCE 300  /* tries 10 ms apart */

int state_dir_openat(int dirfd, const char *name, int flags)
{
    return openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Why a directory cannot hold TPM state, or NULL. */
static const char *unsafe(const struct stat *sb)
{
    if (!S_ISDIR(sb->st_mode))
        return "it is not a directory";
    if (sb->st_uid != geteuid())
        return "it is owned by another user (uid differs from the effective "
               "uid)";
    if (sb->st_mode & (S_IWGRP | S_IWOTH))
        return "it is writable by group or others (chmod go-w, or better "
               "chmod 0700)";
    return NULL;
}

int state_dir_open(const char *dir)
{
    struct stat sb;
    const char *why;
    int fd;

    /* The directory itself, not its parents (a mistyped path should fail,
     * not grow a tree); chmod because tpm2-tools runs its TCTI child with
     * umask 0177, under which mkdir() leaves a directory nobody can enter. */
    if (mkdir(dir, 0700) == 0) {
        if (chmod(dir, 0700) < 0)
            LOG_WARN("cannot chmod state directory %s: %s", dir,
                     strerror(errno));
    } else if (errno != EEXIST) {
        int err = -errno;

        LOG_ERROR("cannot create state directory %s: %s", dir, strerror(-err));
        return err;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;

        LOG_ERROR("cannot open state directory %s: %s", dir, strerror(-err));
        return err;
    }
    if (fstat(fd, &sb) < 0) {
        int err = -errno;

        LOG_ERROR("cannot stat state directory %s: %s", dir, strerror(-err));
        close(fd);
        return err;
    }
    if ((why = unsafe(&sb))) {
        LOG_ERROR("refusing state directory %s: %s; whoever can write it can "
                  "replace the TPM's files", dir, why);
        close(fd);
        return -EPERM;
    }
    return fd;
}

/* The pid of a process whose lock conflicts with @type on byte 0, or 0.
 * Holders take a POSIX lock there beside the flock, only to be named: the
 * flock decides (it belongs to the open file, so it also excludes a second
 * user inside one process). A holder between its two locks is retried. */
static pid_t holder(int fd, short type)
{
    for (int i = 0; i < 50; i++) {
        struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                            .l_start = 0, .l_len = 1 };
        struct timespec ts = { 0, 2 * 1000 * 1000 };

        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            return fl.l_pid;
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Holders also lock byte 1 with a lock of the open file (Linux's OFD
 * locks; a POSIX lock where there are none): it tells an owner (write
 * lock) from pipes (read locks), within one process too. */
#ifdef F_OFD_GETLK
#define KIND_GETLK F_OFD_GETLK
#define KIND_SETLK F_OFD_SETLK
#else
#define KIND_GETLK F_GETLK
#define KIND_SETLK F_SETLK
#endif

static bool held_by_owner(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = 1, .l_len = 1 };

    return fcntl(fd, KIND_GETLK, &fl) == 0 && fl.l_type == F_WRLCK;
}

int state_dir_lock(int dirfd, const char *dir, enum state_dir_use use)
{
    bool owner = use == STATE_DIR_OWNER;
    struct flock fl = { .l_type = owner ? F_WRLCK : F_RDLCK,
                        .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    int fd, err;
    pid_t pid;

    fd = state_dir_openat(dirfd, OWNER_LOCK, O_RDWR | O_CREAT);
    if (fd < 0) {
        err = -errno;
        LOG_ERROR("cannot open lock file %s/%s: %s", dir, OWNER_LOCK,
                  strerror(-err));
        return err;
    }
    for (int tries = 0;
         flock(fd, (owner ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0; tries++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        if (errno == EINTR)
            continue;
        /* A pipe outlives its tool call briefly (the cmd TCTI does not
         * wait for it): an owner starting right after one waits for it,
         * not for another owner. */
        if (errno == EWOULDBLOCK && owner && tries < OWNER_PATIENCE &&
            !held_by_owner(fd)) {
            nanosleep(&ts, NULL);
            continue;
        }
        err = errno == EWOULDBLOCK ? -EBUSY : -errno;
        if (err != -EBUSY) {
            LOG_ERROR("cannot lock %s/%s: %s", dir, OWNER_LOCK, strerror(-err));
        } else if ((pid = holder(fd, fl.l_type))) {
            LOG_ERROR("state directory %s is in use by process %ld (%s): %s",
                      dir, (long)pid,
                      owner ? "an owner or a tpmcrb pipe" : "its owner",
                      owner ? "one TPM state has one user at a time"
                            : "a tpmcrb pipe cannot share it with a "
                              "running VM or server");
        } else {
            LOG_ERROR("state directory %s is in use by another process (lock "
                      "%s/%s)", dir, dir, OWNER_LOCK);
        }
        close(fd);
        return err;
    }
    /* Only to be named and told apart (above); a failure changes nothing. */
    if (fcntl(fd, F_SETLK, &fl) < 0)
        LOG_DEBUG("no pid lock on %s/%s: %s", dir, OWNER_LOCK, strerror(errno));
    fl.l_start = 1;
    if (fcntl(fd, KIND_SETLK, &fl) < 0)
        LOG_DEBUG("no kind lock on %s/%s: %s", dir, OWNER_LOCK, strerror(errno));
    return fd;
}
