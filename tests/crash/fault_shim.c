/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LD_PRELOAD shim that makes one I/O call on the TPM's state files fail,
 * or stall, so that the state store's error paths run for real:
 *
 *   TPMCRB_FAULT_OP     write | sync | dirsync | rename   which calls count
 *   TPMCRB_FAULT_AT     N: the Nth counted call fails (1 = the first)
 *   TPMCRB_FAULT_ERRNO  EIO (default) or ENOSPC
 *   TPMCRB_FAULT_LOG    a file that gets one line when the fault fires:
 *                       "fault ERRNO at call N on NAME" (NAME: the file or
 *                       directory the call was about)
 *   TPMCRB_FAULT_DELAY_US  instead of failing, every counted call sleeps
 *                       this long first (widens the window for kills)
 *   TPMCRB_FAULT_KILL   1: instead of failing, the Nth counted call is
 *                       made and then the process is killed (SIGKILL): a
 *                       death at a chosen point, right after a write of
 *                       the state store (one per TPM command, for a pipe)
 *
 * Counted are calls on the state files (names starting "tpm2-" or
 * ".tpm2-"): write, pwrite, writev, pwritev ("write"); fsync and fdatasync
 * of such a file ("sync") or of a directory ("dirsync"); rename, renameat
 * and renameat2 to such a name ("rename").
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum op { OP_NONE, OP_WRITE, OP_SYNC, OP_DIRSYNC, OP_RENAME };

static enum op fault_op = OP_NONE;
static long fault_at, delay_us, seen;
static int fault_errno = EIO, fault_kill;
static const char *fault_log;
static int configured;

static void configure(void)
{
    const char *op = getenv("TPMCRB_FAULT_OP"), *at, *err, *delay;

    configured = 1;
    if (!op)
        return;
    fault_op = !strcmp(op, "write") ? OP_WRITE : !strcmp(op, "sync") ? OP_SYNC :
               !strcmp(op, "dirsync") ? OP_DIRSYNC :
               !strcmp(op, "rename") ? OP_RENAME : OP_NONE;
    at = getenv("TPMCRB_FAULT_AT");
    fault_at = at ? atol(at) : 1;
    err = getenv("TPMCRB_FAULT_ERRNO");
    fault_errno = err && !strcmp(err, "ENOSPC") ? ENOSPC : EIO;
    fault_log = getenv("TPMCRB_FAULT_LOG");
    delay = getenv("TPMCRB_FAULT_DELAY_US");
    delay_us = delay ? atol(delay) : 0;
    fault_kill = getenv("TPMCRB_FAULT_KILL") && atoi(getenv("TPMCRB_FAULT_KILL"));
}

static int is_state_name(const char *path)
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    return !strncmp(base, "tpm2-", 5) || !strncmp(base, ".tpm2-", 6);
}

static char last_name[PATH_MAX]; /* of the call being looked at */

static int fd_name(int fd)
{
    char link[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, last_name, sizeof(last_name) - 1);
    last_name[n > 0 ? n : 0] = '\0';
    return n > 0;
}

static int fd_is_state_file(int fd)
{
    return fd_name(fd) && is_state_name(last_name);
}

static int fd_is_dir(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* What to do with this call (of kind @op, on a state file). */
enum act { ACT_PASS, ACT_FAIL, ACT_KILL };

static enum act strike(enum op op)
{
    if (!configured)
        configure();
    if (op != fault_op)
        return 0;
    if (delay_us) {
        struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };

        nanosleep(&ts, NULL);
        return ACT_PASS;
    }
    if (++seen != fault_at)
        return ACT_PASS;
    if (fault_log) {
        int fd = open(fault_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        if (fd >= 0) {
            if (fault_kill)
                dprintf(fd, "kill after call %ld on %s\n", seen, last_name);
            else
                dprintf(fd, "fault %d at call %ld on %s\n", fault_errno, seen,
                        last_name);
            close(fd);
        }
    }
    if (fault_kill)
        return ACT_KILL;
    errno = fault_errno;
    return ACT_FAIL;
}

/* The end of a call that was made: the process dies there on ACT_KILL. */
static ssize_t done(enum act act, ssize_t ret)
{
    if (act == ACT_KILL)
        raise(SIGKILL);
    return ret;
}

/* dlsym's object pointer into a function pointer by its bytes: ISO C has
 * no conversion between the two (POSIX makes them the same size). */
static void resolve_next(void *fn_ptr, const char *name)
{
    void *sym = dlsym(RTLD_NEXT, name);

    memcpy(fn_ptr, &sym, sizeof(sym));
}

#define NEXT(name) \
    static __typeof__(name) *next_##name; \
    if (!next_##name) \
        resolve_next(&next_##name, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
    enum act act = ACT_PASS;

    NEXT(write);
    if (fd > 2 && fd_is_state_file(fd) && (act = strike(OP_WRITE)) == ACT_FAIL)
        return -1;
    return done(act, next_write(fd, buf, len));
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    enum act act = ACT_PASS;

    NEXT(pwrite);
    if (fd_is_state_file(fd) && (act = strike(OP_WRITE)) == ACT_FAIL)
        return -1;
    return done(act, next_pwrite(fd, buf, len, off));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    enum act act = ACT_PASS;

    NEXT(writev);
    if (fd_is_state_file(fd) && (act = strike(OP_WRITE)) == ACT_FAIL)
        return -1;
    return done(act, next_writev(fd, iov, n));
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    enum act act = ACT_PASS;

    NEXT(pwritev);
    if (fd_is_state_file(fd) && (act = strike(OP_WRITE)) == ACT_FAIL)
        return -1;
    return done(act, next_pwritev(fd, iov, n, off));
}

static enum act sync_strikes(int fd)
{
    if (fd_is_dir(fd))
        return fd_name(fd) ? strike(OP_DIRSYNC) : ACT_PASS;
    return fd_is_state_file(fd) ? strike(OP_SYNC) : ACT_PASS;
}

int fsync(int fd)
{
    enum act act;

    NEXT(fsync);
    if ((act = sync_strikes(fd)) == ACT_FAIL)
        return -1;
    return (int)done(act, next_fsync(fd));
}

int fdatasync(int fd)
{
    enum act act;

    NEXT(fdatasync);
    if ((act = sync_strikes(fd)) == ACT_FAIL)
        return -1;
    return (int)done(act, next_fdatasync(fd));
}

int rename(const char *from, const char *to)
{
    enum act act = ACT_PASS;

    NEXT(rename);
    if (is_state_name(to) && snprintf(last_name, sizeof(last_name), "%s", to) &&
        (act = strike(OP_RENAME)) == ACT_FAIL)
        return -1;
    return (int)done(act, next_rename(from, to));
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    enum act act = ACT_PASS;

    NEXT(renameat);
    if (is_state_name(to) && snprintf(last_name, sizeof(last_name), "%s", to) &&
        (act = strike(OP_RENAME)) == ACT_FAIL)
        return -1;
    return (int)done(act, next_renameat(fromfd, from, tofd, to));
}

int renameat2(int fromfd, const char *from, int tofd, const char *to,
              unsigned flags)
{
    enum act act = ACT_PASS;

    NEXT(renameat2);
    if (is_state_name(to) && snprintf(last_name, sizeof(last_name), "%s", to) &&
        (act = strike(OP_RENAME)) == ACT_FAIL)
        return -1;
    return (int)done(act, next_renameat2(fromfd, from, tofd, to, flags));
}
