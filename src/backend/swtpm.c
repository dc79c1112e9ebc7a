/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * swtpm backend: a `swtpm socket --tpm2` child process, or a running swtpm
 * reached through its control socket ("ctrl=PATH[,data=PATH]").
 *
 * swtpm has two channels:
 *  - control: a request is a big-endian u32 code and a fixed body; the
 *    answer is a u32 result (0 = success) and a fixed body. Error answers
 *    are often the result alone, so a body is read only after a zero result
 *    and whatever else came with an error is drained.
 *  - data: raw TPM 2.0 commands and responses. As QEMU does, we make a
 *    socketpair and hand one end to swtpm with SET_DATAFD (unless the user
 *    named a data socket).
 *
 * Why power and state work the way they do:
 *  - power_off() stores the volatile state (STORE_VOLATILE) and stops the
 *    TPM; the next INIT loads it and the TPM comes up already started.
 *    INIT always carries DELETE_VOLATILE so that the saved state is used
 *    once: after a crash the next start is a power loss, never a resume
 *    into stale state.
 *  - Whether INIT resumed is asked of the TPM itself: until TPM2_Startup
 *    every command but Startup answers TPM_RC_INITIALIZE. That holds for
 *    every swtpm version and for both child and external swtpm.
 *  - swtpm >= 0.10 sends TPM2_Shutdown(SU_STATE) by itself on STOP and INIT.
 *    That records an orderly shutdown that never happened (after a later
 *    crash the TPM would skip its non-orderly handling, e.g. of dictionary
 *    attack counters), so the child gets --flags disable-auto-shutdown
 *    wherever swtpm offers it.
 *  - swtpm is single-threaded: it reads CANCEL_TPM_CMD only after the
 *    running command finished, and libtpms clears the cancel flag when the
 *    next command starts. cancel() cannot shorten a command; it is sent
 *    without waiting for its answer so that the caller never blocks.
 */
#include "backend/backends.h"
#include "backend/state_dir.h"
#include "backend/state_probe.h"
#include "backend/test_hooks.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Control channel commands (swtpm's socket interface, big-endian codes). */
enum {
    CTRL_INIT = 2,
    CTRL_SHUTDOWN = 3,
    CTRL_GET_TPMESTABLISHED = 4,
    CTRL_SET_LOCALITY = 5,
    CTRL_CANCEL_TPM_CMD = 9,
    CTRL_STORE_VOLATILE = 10,
    CTRL_RESET_TPMESTABLISHED = 11,
    CTRL_GET_STATEBLOB = 12,
    CTRL_SET_STATEBLOB = 13,
    CTRL_STOP = 14,
    CTRL_SET_DATAFD = 16,
    CTRL_SET_BUFFERSIZE = 17,
};

#define INIT_FLAG_DELETE_VOLATILE 1u
#define BLOB_TYPE_PERMANENT       1u
#define BLOB_TYPE_VOLATILE        2u
#define BLOB_TYPE_SAVESTATE       3u
#define SWTPM_RESULT_RETRY        0x800u /* TPM 1.2 code: no such blob yet */

#define TPM_RC_BAD_TAG    0x01Eu
#define TPM_RC_LOCALITY   0x907u
#define TPM2_SEND_COMMAND 8u /* a leading u32 8 means "prefixed" to swtpm */

#define DEFAULT_TIMEOUT_MS 30000
#define EXIT_WAIT_MS       2000
#define MAX_BLOB_SIZE      (4u << 20)

/* Our snapshot format: magic, version, then each blob as type, flags,
 * length and bytes; all fields big-endian u32. */
#define STATE_MAGIC   0x54435357u /* "TCSW" */
#define STATE_VERSION 1u

static const uint32_t blob_types[] = {
    BLOB_TYPE_PERMANENT, BLOB_TYPE_VOLATILE, BLOB_TYPE_SAVESTATE,
};
#define NUM_BLOBS (sizeof(blob_types) / sizeof(blob_types[0]))

struct blob {
    uint32_t flags;
    uint32_t len;
    const uint8_t *data;
};

struct swtpm {
    struct tpmcrb_backend be;
    int ctrl_fd;
    int data_fd;
    /* The device serialises every call but cancel(), which may come from
     * another thread at any time; the control channel is shared. */
    pthread_mutex_t ctrl_lock;
    unsigned pending_acks;  /* answers to CANCEL not read yet */
    atomic_bool broken;     /* channel state unknown: refuse commands */
    int timeout_ms;

    /* child mode */
    pid_t pid;
    char *bin;
    char *state_dir;
    bool private_dir;
    bool no_auto_shutdown;
    int lock_fd;

    /* connect mode */
    char *ctrl_path;
    char *data_path;

    uint32_t max_cmd;       /* negotiated buffer size */
    bool running;           /* INIT done, no STOP since */
    int locality;           /* last SET_LOCALITY, -1 unknown */
    bool est_valid;         /* tpmEstablished cached (see get_established) */
    bool est;
    bool power_cycle;
    uint32_t buffer_size;      /* the device's, from power_on */
    bool locality_warned;
};

static const struct tpmcrb_backend_ops swtpm_ops;

static struct swtpm *to_swtpm(struct tpmcrb_backend *be)
{
    return (struct swtpm *)be;
}

/* ------------------------------------------------------ bounded socket I/O */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0 when @fd is ready for @events (or hung up: the next call says so),
 * -ETIMEDOUT at @deadline, else -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        int64_t left = deadline - now_ms();
        int n = poll(&p, 1, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left);

        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Our socket ends are non-blocking so that every wait has a deadline;
 * MSG_NOSIGNAL: a dead swtpm must give EPIPE, not kill us with SIGPIPE. */
static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno != EAGAIN) {
            return -errno;
        } else {
            int rc = wait_fd(fd, POLLOUT, deadline);

            if (rc)
                return rc;
        }
    }
    return 0;
}

/* -EPIPE when the peer closed the connection. */
static int recv_all(int fd, void *buf, size_t len, int64_t deadline)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = recv(fd, p, len, 0);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n == 0) {
            return -EPIPE;
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN) {
            return -errno;
        } else {
            int rc = wait_fd(fd, POLLIN, deadline);

            if (rc)
                return rc;
        }
    }
    return 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------ child process */

static void log_exit_status(pid_t pid, int status, enum tpmcrb_log_level lvl)
{
    if (WIFSIGNALED(status))
        crb_log(lvl, "swtpm: child (pid %d) was killed by signal %d (%s)",
                (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        crb_log(lvl, "swtpm: child (pid %d) exited with status %d",
                (int)pid, WEXITSTATUS(status));
}

/* Reap the child if it exits within @wait_ms; true when it is gone. */
static bool child_reap(struct swtpm *s, int wait_ms, enum tpmcrb_log_level lvl)
{
    int64_t deadline = now_ms() + wait_ms;
    struct timespec pause = { .tv_nsec = 1000000 };
    int status;

    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            log_exit_status(s->pid, status, lvl);
            break;
        }
        if (r < 0 && errno != EINTR) {
            /* ECHILD: the embedder reaped it for us. */
            crb_log(lvl, "swtpm: child (pid %d) is gone (%s)", (int)s->pid,
                    strerror(errno));
            break;
        }
        if (now_ms() >= deadline)
            return false;
        nanosleep(&pause, NULL);
    }
    s->pid = -1;
    return true;
}

/* Say what became of the child after the channel failed. Its sockets close
 * shortly before the kernel makes it a zombie, hence the short grace. */
static void child_report(struct swtpm *s)
{
    if (s->pid > 0 && !child_reap(s, 200, TPMCRB_LOG_ERROR))
        LOG_ERROR("swtpm: child (pid %d) is still running", (int)s->pid);
}

/* Stop the child for good: it normally exits on SHUTDOWN or on losing its
 * data connection (--terminate); a hung one is killed. */
static void child_finish(struct swtpm *s, bool kill_now)
{
    if (s->pid <= 0)
        return;
    if (!kill_now && child_reap(s, EXIT_WAIT_MS, TPMCRB_LOG_DEBUG))
        return;
    if (!kill_now)
        LOG_WARN("swtpm: child (pid %d) did not exit; killing it", (int)s->pid);
    kill(s->pid, SIGKILL);
    if (!child_reap(s, 5000, TPMCRB_LOG_DEBUG)) {
        LOG_ERROR("swtpm: child (pid %d) survives SIGKILL; leaving it",
                  (int)s->pid);
        s->pid = -1;
    }
}

/* Move @fd to a number >= 10 (close-on-exec) so that the child's dup2()s
 * onto 0, 1 and 3 cannot overwrite it. */
static int fd_high(int fd)
{
    int high;

    if (fd < 0)
        return -1;
    high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return high;
}

static void close_fds_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0u, 0) == 0)
        return;
    for (int fd = lowfd; fd < 4096; fd++)
        close(fd);
}

/*
 * fork + exec: stdin from @devnull, stdout to @out_fd (swtpm prints some
 * messages on stdout, which `tpmcrb pipe` uses for TPM responses), stderr
 * inherited, @ctrl_fd as fd 3 when >= 0, no other descriptor. The child
 * gets its own process group: a terminal's Ctrl-C must reach us, not swtpm,
 * so that we can still power off in order. Only async-signal-safe calls
 * after fork(): the embedder may have other threads.
 */
static pid_t spawn(char *const argv[], char *const envp[], int devnull,
                   int out_fd, int ctrl_fd)
{
    static const char msg[] = "tpmcrb: cannot execute swtpm\n";
    sigset_t unblocked;
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    /* Signals the embedder blocks (a VMM's threads often do, `tpmcrb
     * serve` and `pipe` block their stop signals) must not stay blocked
     * in swtpm: it would ignore a SIGTERM. */
    sigemptyset(&unblocked);
    sigprocmask(SIG_SETMASK, &unblocked, NULL);
    setpgid(0, 0);
    umask(077); /* swtpm creates its state files 0640; they hold seeds */
    dup2(devnull, 0);
    dup2(out_fd, 1);
    if (ctrl_fd >= 0)
        dup2(ctrl_fd, 3);
    close_fds_from(ctrl_fd >= 0 ? 4 : 3);
    execve(argv[0], argv, envp);
    if (write(2, msg, sizeof(msg) - 1)) {
        /* nothing more to do */
    }
    _exit(127);
}

static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];

    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p; ) {
        const char *end = p + strcspn(p, ":");
        int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, name);

        if (end > p && n > 0 && (size_t)n < sizeof(buf) &&
            access(buf, X_OK) == 0)
            return strdup(buf);
        p = *end ? end + 1 : end;
    }
    return NULL;
}

/* Whether `swtpm socket --print-capabilities` lists @feature. */
static bool swtpm_has_feature(const char *bin, const char *feature)
{
    char *argv[] = { (char *)bin, "socket", "--print-capabilities", NULL };
    char out[4096];
    size_t len = 0;
    int p[2], devnull, status;
    int64_t deadline = now_ms() + 5000;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return false;
    devnull = fd_high(open("/dev/null", O_RDWR | O_CLOEXEC));
    p[1] = fd_high(p[1]);
    pid = devnull < 0 || p[1] < 0 ? -1 : spawn(argv, environ, devnull, p[1], -1);
    close(p[1]);
    if (devnull >= 0)
        close(devnull);
    set_nonblock(p[0]);
    while (pid > 0 && len < sizeof(out) - 1) {
        ssize_t n = read(p[0], out + len, sizeof(out) - 1 - len);

        if (n > 0)
            len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
                 (errno == EAGAIN && wait_fd(p[0], POLLIN, deadline)))
            break;
    }
    close(p[0]);
    if (pid > 0) {
        kill(pid, SIGKILL); /* it has answered (or never will) */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    out[len] = '\0';
    return strstr(out, feature) != NULL;
}

/* The environment for swtpm: ours plus TPM_PATH, which names the state
 * directory without going through swtpm's comma-separated option syntax. */
static char **child_env(const char *state_dir)
{
    size_t n = 0, j = 0;
    char **env;

    while (environ[n])
        n++;
    env = calloc(n + 2, sizeof(*env));
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TPM_PATH=", 9) != 0)
            env[j++] = environ[i];
    if (asprintf(&env[j], "TPM_PATH=%s", state_dir) < 0) {
        free(env);
        return NULL;
    }
    return env;
}

static void free_child_env(char **env)
{
    size_t n = 0;

    if (!env)
        return;
    while (env[n + 1])
        n++;
    free(env[n]); /* only the TPM_PATH entry is ours */
    free(env);
}

/* Start swtpm with the control channel on a socketpair (fd 3 in the
 * child). --terminate: swtpm exits when its data connection closes, so a
 * crash of ours never leaves it behind. */
static int child_start(struct swtpm *s)
{
    char *argv[] = {
        s->bin, "socket", "--tpm2", "--ctrl", "type=unixio,clientfd=3",
        "--terminate", NULL, NULL, NULL,
    };
    int sp[2], child_end, devnull, rc = 0;
    char **env;

    if (s->no_auto_shutdown) {
        argv[6] = "--flags";
        argv[7] = "disable-auto-shutdown";
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    child_end = fd_high(sp[1]);
    devnull = fd_high(open("/dev/null", O_RDWR | O_CLOEXEC));
    env = child_env(s->state_dir);
    if (child_end < 0 || devnull < 0 || !env)
        rc = -ENOMEM;
    else if ((s->pid = spawn(argv, env, devnull, 2, child_end)) < 0)
        rc = -errno;
    free_child_env(env);
    close(child_end);
    close(devnull);
    if (rc) {
        s->pid = -1;
        close(sp[0]);
        LOG_ERROR("swtpm: cannot start %s: %s", s->bin, strerror(-rc));
        return rc;
    }
    s->ctrl_fd = sp[0];
    LOG_DEBUG("swtpm: started %s (pid %d), state in %s", s->bin, (int)s->pid,
              s->state_dir);
    return set_nonblock(s->ctrl_fd);
}

/* -------------------------------------------------------- control channel */

static const char *ctrl_name(uint32_t code)
{
    switch (code) {
    case CTRL_INIT: return "INIT";
    case CTRL_SHUTDOWN: return "SHUTDOWN";
    case CTRL_GET_TPMESTABLISHED: return "GET_TPMESTABLISHED";
    case CTRL_SET_LOCALITY: return "SET_LOCALITY";
    case CTRL_STORE_VOLATILE: return "STORE_VOLATILE";
    case CTRL_RESET_TPMESTABLISHED: return "RESET_TPMESTABLISHED";
    case CTRL_GET_STATEBLOB: return "GET_STATEBLOB";
    case CTRL_SET_STATEBLOB: return "SET_STATEBLOB";
    case CTRL_STOP: return "STOP";
    case CTRL_SET_DATAFD: return "SET_DATAFD";
    case CTRL_SET_BUFFERSIZE: return "SET_BUFFERSIZE";
    default: return "control command";
    }
}

/* The channel is in an unknown state: log why and what became of the
 * child; nothing more is sent until power_on() starts afresh. */
static int fail(struct swtpm *s, const char *what, int rc)
{
    atomic_store(&s->broken, true);
    if (rc == -ETIMEDOUT)
        LOG_ERROR("swtpm: %s: no answer within %d ms", what, s->timeout_ms);
    else if (rc == -EPIPE || rc == -ECONNRESET)
        LOG_ERROR("swtpm: %s: swtpm closed the connection", what);
    else
        LOG_ERROR("swtpm: %s: %s", what, strerror(-rc));
    child_report(s);
    return -EIO;
}

struct ctrl_req {
    uint32_t code;
    const void *body;       /* fixed request body (at most 16 bytes) */
    size_t body_len;
    const void *data;       /* SET_STATEBLOB: the blob after the body */
    size_t data_len;
    const int *pass_fd;     /* SET_DATAFD: descriptor sent with SCM_RIGHTS */
    void *out;              /* answer body after a zero result */
    size_t out_len;
};

static int send_with_fd(int sock, const void *msg, size_t len, int fd,
                        int64_t deadline)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
    };
    struct cmsghdr *c;

    memset(&ctl, 0, sizeof(ctl));
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        int rc;

        if (n == (ssize_t)len)
            return 0;
        if (n >= 0)
            return -EIO; /* a 4-byte message is never split in practice */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        if ((rc = wait_fd(sock, POLLOUT, deadline)))
            return rc;
    }
}

/* Read what is left of an error answer: swtpm writes each answer at once. */
static void ctrl_drain(int fd)
{
    uint8_t junk[64];

    while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
}

/* One control transaction, ctrl_lock held. Returns 0 with swtpm's result in
 * *result, or -EIO when the channel broke (logged). */
static int ctrl_call(struct swtpm *s, const struct ctrl_req *rq,
                     uint32_t *result)
{
    int64_t deadline = now_ms() + s->timeout_ms;
    uint8_t msg[4 + 16], res[4];
    int rc = 0;

    if (atomic_load(&s->broken) || s->ctrl_fd < 0)
        return -EIO;
    tpm_put_be32(msg, rq->code);
    if (rq->body_len)
        memcpy(msg + 4, rq->body, rq->body_len);
    for (; s->pending_acks && !rc; s->pending_acks--)
        rc = recv_all(s->ctrl_fd, res, sizeof(res), deadline);
    if (!rc && rq->pass_fd)
        rc = send_with_fd(s->ctrl_fd, msg, 4 + rq->body_len, *rq->pass_fd,
                          deadline);
    else if (!rc)
        rc = send_all(s->ctrl_fd, msg, 4 + rq->body_len, deadline);
    if (!rc && rq->data_len)
        rc = send_all(s->ctrl_fd, rq->data, rq->data_len, deadline);
    if (!rc)
        rc = recv_all(s->ctrl_fd, res, sizeof(res), deadline);
    if (rc)
        return fail(s, ctrl_name(rq->code), rc);
    *result = tpm_be32(res);
    if (*result) {
        ctrl_drain(s->ctrl_fd);
        return 0;
    }
    if (rq->out_len && (rc = recv_all(s->ctrl_fd, rq->out, rq->out_len,
                                      deadline)))
        return fail(s, ctrl_name(rq->code), rc);
    return 0;
}

/* A transaction that must succeed; a refusal is logged and gives -EIO. */
static int ctrl_ok(struct swtpm *s, const struct ctrl_req *rq)
{
    uint32_t result;
    int rc = ctrl_call(s, rq, &result);

    if (!rc && result) {
        LOG_ERROR("swtpm: %s failed with result 0x%x (swtpm's log on stderr "
                  "may say more)", ctrl_name(rq->code), result);
        rc = -EIO;
    }
    return rc;
}

static int ctrl_simple(struct swtpm *s, uint32_t code)
{
    return ctrl_ok(s, &(struct ctrl_req){ .code = code });
}

/* ------------------------------------------------------------- connections */

static int unix_connect(const char *path, int *out)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd, rc;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        LOG_ERROR("swtpm: socket path too long: %s", path);
        return -ENAMETOOLONG;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        rc = -errno;
        LOG_ERROR("swtpm: cannot connect to %s: %s", path, strerror(-rc));
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* QEMU's way: a socketpair whose other end swtpm receives with SET_DATAFD. */
static int data_channel_pass(struct swtpm *s)
{
    int sp[2], rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    rc = ctrl_ok(s, &(struct ctrl_req){ .code = CTRL_SET_DATAFD,
                                        .pass_fd = &sp[1] });
    close(sp[1]);
    if (!rc)
        rc = set_nonblock(sp[0]);
    if (rc) {
        close(sp[0]);
        return rc;
    }
    s->data_fd = sp[0];
    return 0;
}

static int channel_open(struct swtpm *s)
{
    int rc;

    atomic_store(&s->broken, false);
    s->pending_acks = 0;
    s->running = false;
    s->locality = -1;
    s->est_valid = false;
    if (s->ctrl_path)
        rc = unix_connect(s->ctrl_path, &s->ctrl_fd);
    else
        rc = child_start(s);
    if (rc)
        return rc;
    if (s->data_path)
        return unix_connect(s->data_path, &s->data_fd);
    return data_channel_pass(s);
}

/* Close both channels. A healthy child is asked to exit (SHUTDOWN, with
 * no TPM2_Shutdown and no saved volatile state: a later start without an
 * earlier power_off() is a power loss); a broken one is killed. An external
 * swtpm is left running. */
static void channel_close(struct swtpm *s)
{
    bool broken = atomic_load(&s->broken);

    if (s->pid > 0 && !broken) {
        int saved = s->timeout_ms;

        s->timeout_ms = saved < EXIT_WAIT_MS ? saved : EXIT_WAIT_MS;
        ctrl_simple(s, CTRL_SHUTDOWN);
        s->timeout_ms = saved;
    }
    if (s->data_fd >= 0)
        close(s->data_fd);
    if (s->ctrl_fd >= 0)
        close(s->ctrl_fd);
    s->data_fd = s->ctrl_fd = -1;
    child_finish(s, broken);
}

/* ----------------------------------------------------------------- TPM I/O */

/* One command on the data channel; the response is read header first, then
 * the rest, all within the timeout. */
static int data_transact(struct swtpm *s, const uint8_t *cmd, uint32_t cmd_len,
                         uint8_t *rsp, uint32_t rsp_cap, uint32_t *rsp_len)
{
    int64_t deadline = now_ms() + s->timeout_ms;
    uint32_t size;
    int rc;

    rc = send_all(s->data_fd, cmd, cmd_len, deadline);
    if (!rc)
        rc = recv_all(s->data_fd, rsp, TPM_HEADER_SIZE, deadline);
    if (rc)
        return fail(s, "TPM command", rc);
    size = tpm_hdr_size(rsp);
    if (size < TPM_HEADER_SIZE || size > rsp_cap) {
        LOG_ERROR("swtpm: response size %u outside 10..%u", size, rsp_cap);
        return fail(s, "TPM response", -EPROTO);
    }
    rc = recv_all(s->data_fd, rsp + TPM_HEADER_SIZE, size - TPM_HEADER_SIZE,
                  deadline);
    if (rc)
        return fail(s, "TPM response", rc);
    *rsp_len = size;
    return 0;
}

/* Whether the TPM is already started, i.e. INIT restored volatile state. */
static int tpm_started(struct swtpm *s, bool *started)
{
    /* TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_MANUFACTURER, 1):
     * read-only, answered with TPM_RC_INITIALIZE before TPM2_Startup. */
    static const uint8_t params[] = { 0, 0, 0, 6, 0, 0, 1, 5, 0, 0, 0, 1 };
    uint8_t cmd[32], rsp[256];
    uint32_t len, rsp_len, rc_tpm;
    int rc;

    len = tpm_build_command(cmd, sizeof(cmd), TPM_CC_GetCapability, params,
                            sizeof(params));
    rc = data_transact(s, cmd, len, rsp, sizeof(rsp), &rsp_len);
    if (rc)
        return rc;
    rc_tpm = tpm_hdr_code(rsp);
    *started = rc_tpm == TPM_RC_SUCCESS;
    if (rc_tpm != TPM_RC_SUCCESS && rc_tpm != TPM_RC_INITIALIZE)
        LOG_WARN("swtpm: TPM answers 0x%x after INIT (failure mode?)", rc_tpm);
    return 0;
}

/* STOP, SET_BUFFERSIZE, INIT: QEMU's order; the buffer size can only be
 * set while the TPM is stopped. */
static int tpm_init(struct swtpm *s, uint32_t buffer_size)
{
    uint8_t size[4], flags[4], out[12];
    uint32_t got;
    int rc;

    tpm_put_be32(size, buffer_size);
    tpm_put_be32(flags, INIT_FLAG_DELETE_VOLATILE);
    s->running = false;
    s->locality = -1;
    s->est_valid = false;
    rc = ctrl_simple(s, CTRL_STOP);
    if (!rc)
        rc = ctrl_ok(s, &(struct ctrl_req){ .code = CTRL_SET_BUFFERSIZE,
                                            .body = size, .body_len = 4,
                                            .out = out, .out_len = 12 });
    if (rc)
        return rc;
    got = tpm_be32(out);
    if (got > buffer_size)
        LOG_WARN("swtpm: buffer size %u exceeds the device's %u; larger "
                 "responses will fail", got, buffer_size);
    else if (got < buffer_size)
        LOG_INFO("swtpm: buffer size %u (device: %u); larger commands are "
                 "answered with TPM_RC_COMMAND_SIZE", got, buffer_size);
    s->max_cmd = got < buffer_size ? got : buffer_size;
    rc = ctrl_ok(s, &(struct ctrl_req){ .code = CTRL_INIT, .body = flags,
                                        .body_len = 4 });
    s->running = rc == 0;
    return rc;
}

/* ---------------------------------------------------------- backend ops */

static int swtpm_power_on(struct tpmcrb_backend *be, uint32_t buffer_size,
                          bool *resumed)
{
    struct swtpm *s = to_swtpm(be);
    int rc = 0;

    *resumed = false;
    s->buffer_size = buffer_size;
    pthread_mutex_lock(&s->ctrl_lock);
    if (atomic_load(&s->broken)) {
        /* After a failure: a new child (same state), or a new connection. */
        LOG_INFO("swtpm: reconnecting after an earlier failure");
        channel_close(s);
        rc = channel_open(s);
    }
    if (!rc)
        rc = tpm_init(s, buffer_size);
    if (!rc)
        rc = tpm_started(s, resumed);
    if (!rc && *resumed && s->power_cycle) {
        /* The first INIT consumed the saved state; a second one is fresh. */
        LOG_DEBUG("swtpm: power cycle: dropping the resumed volatile state");
        rc = tpm_init(s, buffer_size);
        if (!rc)
            rc = tpm_started(s, resumed);
    }
    pthread_mutex_unlock(&s->ctrl_lock);
    if (!rc)
        LOG_DEBUG("swtpm: powered on (%s)", *resumed ? "resumed" : "fresh");
    return rc;
}

/* A platform reset is INIT on the running TPM: swtpm restarts libtpms
 * from its permanent state, and the volatile state was already deleted by
 * the INIT at power-on, so TPM2_Startup is due again. A broken child or
 * connection is replaced on the way, as at power-on. */
static int swtpm_platform_reset(struct tpmcrb_backend *be)
{
    bool resumed;

    return swtpm_power_on(be, to_swtpm(be)->buffer_size, &resumed);
}

static int set_locality(struct swtpm *s, unsigned locality, bool *refused)
{
    uint8_t loc = (uint8_t)locality;
    uint32_t result;
    int rc;

    *refused = false;
    if ((int)locality == s->locality)
        return 0;
    pthread_mutex_lock(&s->ctrl_lock);
    rc = ctrl_call(s, &(struct ctrl_req){ .code = CTRL_SET_LOCALITY,
                                          .body = &loc, .body_len = 1 },
                   &result);
    pthread_mutex_unlock(&s->ctrl_lock);
    if (rc)
        return rc;
    if (result) {
        /* e.g. an external swtpm started with reject-locality-4 */
        if (!s->locality_warned)
            LOG_WARN("swtpm: locality %u refused (result 0x%x)", locality,
                     result);
        s->locality_warned = true;
        *refused = true;
        return 0;
    }
    s->locality = (int)locality;
    return 0;
}

static int swtpm_execute(struct tpmcrb_backend *be, unsigned locality,
                         const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                         uint32_t rsp_cap, uint32_t *rsp_len)
{
    struct swtpm *s = to_swtpm(be);
    bool refused;
    int rc;

    if (atomic_load(&s->broken) || !s->running) {
        LOG_DEBUG("swtpm: command refused: %s",
                  s->running ? "earlier failure" : "TPM not powered on");
        return -EIO;
    }
    /* swtpm reads a command with one read() of at least 10 bytes; a short
     * one would make it wait and glue the next command to it. */
    if (cmd_len < TPM_HEADER_SIZE || cmd_len > s->max_cmd) {
        *rsp_len = tpm_error_response(rsp, TPM_RC_COMMAND_SIZE);
        return 0;
    }
    /* swtpm would take this for its own framing and answer with extra
     * bytes; a TPM rejects such a tag anyway. */
    if (tpm_be32(cmd) == TPM2_SEND_COMMAND) {
        *rsp_len = tpm_error_response(rsp, TPM_RC_BAD_TAG);
        return 0;
    }
    rc = set_locality(s, locality, &refused);
    if (rc)
        return rc;
    if (refused) {
        *rsp_len = tpm_error_response(rsp, TPM_RC_LOCALITY);
        return 0;
    }
    return data_transact(s, cmd, cmd_len, rsp, rsp_cap, rsp_len);
}

static void swtpm_cancel(struct tpmcrb_backend *be)
{
    struct swtpm *s = to_swtpm(be);
    uint8_t msg[4];
    ssize_t n;

    /* Never wait here: the caller may be a vCPU thread. */
    if (pthread_mutex_trylock(&s->ctrl_lock)) {
        LOG_DEBUG("swtpm: cancel skipped: control channel busy");
        return;
    }
    /* One at a time: swtpm takes a request per read, so a second CANCEL
     * queued behind the first would be read with it as one bad request
     * and get a single answer. */
    if (!atomic_load(&s->broken) && s->ctrl_fd >= 0 && !s->pending_acks) {
        tpm_put_be32(msg, CTRL_CANCEL_TPM_CMD);
        n = send(s->ctrl_fd, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)sizeof(msg))
            s->pending_acks++; /* read before the next transaction */
        else if (n > 0)
            fail(s, "CANCEL_TPM_CMD", -EIO);
        else
            LOG_DEBUG("swtpm: cancel not sent: %s", strerror(errno));
    }
    pthread_mutex_unlock(&s->ctrl_lock);
}

/* The flag changes only through the control channel (reset, INIT, state
 * load), never through TPM commands, so one query per power-on suffices;
 * the device may ask often. */
static bool swtpm_get_established(struct tpmcrb_backend *be)
{
    struct swtpm *s = to_swtpm(be);
    uint8_t out[4]; /* u8 flag + 3 bytes of struct padding, as swtpm sends */
    uint32_t result;
    bool est;

    pthread_mutex_lock(&s->ctrl_lock);
    if (!s->est_valid && s->running &&
        ctrl_call(s, &(struct ctrl_req){ .code = CTRL_GET_TPMESTABLISHED,
                                         .out = out, .out_len = 4 },
                  &result) == 0) {
        if (result)
            LOG_WARN("swtpm: GET_TPMESTABLISHED failed with result 0x%x",
                     result);
        s->est = out[0] != 0;
        s->est_valid = result == 0;
    }
    est = s->est_valid ? s->est : true;
    pthread_mutex_unlock(&s->ctrl_lock);
    return est;
}

static int swtpm_reset_established(struct tpmcrb_backend *be,
                                   unsigned locality)
{
    struct swtpm *s = to_swtpm(be);
    uint8_t loc = (uint8_t)locality;
    uint32_t result;
    int rc;

    pthread_mutex_lock(&s->ctrl_lock);
    s->est_valid = false;
    rc = ctrl_call(s, &(struct ctrl_req){ .code = CTRL_RESET_TPMESTABLISHED,
                                          .body = &loc, .body_len = 1 },
                   &result);
    pthread_mutex_unlock(&s->ctrl_lock);
    if (!rc && result) {
        LOG_DEBUG("swtpm: tpmEstablished reset from locality %u refused "
                  "(result 0x%x)", locality, result);
        rc = -EPERM;
    }
    return rc;
}

static int swtpm_power_off(struct tpmcrb_backend *be)
{
    struct swtpm *s = to_swtpm(be);
    int rc = 0;

    pthread_mutex_lock(&s->ctrl_lock);
    if (s->running) {
        rc = ctrl_simple(s, CTRL_STORE_VOLATILE);
        if (rc)
            LOG_ERROR("swtpm: volatile state not saved; the next start is "
                      "a power loss");
        if (!atomic_load(&s->broken) && ctrl_simple(s, CTRL_STOP) == 0)
            s->running = false;
    }
    pthread_mutex_unlock(&s->ctrl_lock);
    return rc;
}

/* Fetch one blob; a missing one (swtpm: RETRY) is empty. The blob is read
 * into *buf at *len, which grows. */
static int get_blob(struct swtpm *s, uint32_t type, uint8_t **buf, size_t *len)
{
    uint8_t req[12], hdr[12], *grown;
    uint32_t result, flags, n;
    int rc;

    tpm_put_be32(req, 0);      /* state flags: leave encryption as it is */
    tpm_put_be32(req + 4, type);
    tpm_put_be32(req + 8, 0);  /* offset */
    rc = ctrl_call(s, &(struct ctrl_req){ .code = CTRL_GET_STATEBLOB,
                                          .body = req, .body_len = 12,
                                          .out = hdr, .out_len = 12 },
                   &result);
    if (rc)
        return rc;
    if (result && result != SWTPM_RESULT_RETRY) {
        LOG_ERROR("swtpm: GET_STATEBLOB(%u) failed with result 0x%x", type,
                  result);
        return -EIO;
    }
    flags = result ? 0 : tpm_be32(hdr);
    n = result ? 0 : tpm_be32(hdr + 8); /* bytes that follow */
    if (n > MAX_BLOB_SIZE)
        return fail(s, "GET_STATEBLOB", -EFBIG);
    grown = realloc(*buf, *len + 12 + n);
    if (!grown)
        return fail(s, "GET_STATEBLOB", -ENOMEM); /* the blob is unread */
    *buf = grown;
    tpm_put_be32(grown + *len, type);
    tpm_put_be32(grown + *len + 4, flags);
    tpm_put_be32(grown + *len + 8, n);
    rc = recv_all(s->ctrl_fd, grown + *len + 12, n, now_ms() + s->timeout_ms);
    if (rc)
        return fail(s, "GET_STATEBLOB", rc);
    *len += 12 + n;
    return 0;
}

static int swtpm_save_state(struct tpmcrb_backend *be, uint8_t **blob,
                            size_t *len)
{
    struct swtpm *s = to_swtpm(be);
    uint8_t *buf = malloc(8);
    size_t n = 8;
    int rc = buf ? 0 : -ENOMEM;

    if (buf) {
        tpm_put_be32(buf, STATE_MAGIC);
        tpm_put_be32(buf + 4, STATE_VERSION);
    }
    pthread_mutex_lock(&s->ctrl_lock);
    if (!rc && !s->running) {
        LOG_ERROR("swtpm: cannot save state: TPM not powered on");
        rc = -EINVAL;
    }
    for (size_t i = 0; i < NUM_BLOBS && !rc; i++)
        rc = get_blob(s, blob_types[i], &buf, &n);
    pthread_mutex_unlock(&s->ctrl_lock);
    if (rc) {
        free(buf);
        return rc;
    }
    *blob = buf;
    *len = n;
    return 0;
}

/* Check the whole snapshot before anything is sent to swtpm. */
static int parse_state(const uint8_t *p, size_t len, struct blob out[NUM_BLOBS])
{
    size_t off = 8;

    if (len < 8 || tpm_be32(p) != STATE_MAGIC ||
        tpm_be32(p + 4) != STATE_VERSION)
        return -EINVAL;
    for (size_t i = 0; i < NUM_BLOBS; i++) {
        if (len - off < 12 || tpm_be32(p + off) != blob_types[i])
            return -EINVAL;
        out[i].flags = tpm_be32(p + off + 4);
        out[i].len = tpm_be32(p + off + 8);
        off += 12;
        if (out[i].len > MAX_BLOB_SIZE || len - off < out[i].len)
            return -EINVAL;
        out[i].data = p + off;
        off += out[i].len;
    }
    return off == len ? 0 : -EINVAL;
}

static int swtpm_load_state(struct tpmcrb_backend *be, const uint8_t *blob,
                            size_t len)
{
    struct swtpm *s = to_swtpm(be);
    struct blob parts[NUM_BLOBS];
    uint8_t hdr[12];
    int rc;

    if (parse_state(blob, len, parts)) {
        LOG_ERROR("swtpm: state blob is not a tpmcrb swtpm snapshot or is "
                  "damaged (%zu bytes)", len);
        return -EINVAL;
    }
    pthread_mutex_lock(&s->ctrl_lock);
    /* swtpm takes blobs only while stopped; INIT then starts from them
     * (and deletes the volatile one, as always). An empty blob clears. */
    rc = ctrl_simple(s, CTRL_STOP);
    s->running = false;
    for (size_t i = 0; i < NUM_BLOBS && !rc; i++) {
        tpm_put_be32(hdr, parts[i].flags);
        tpm_put_be32(hdr + 4, blob_types[i]);
        tpm_put_be32(hdr + 8, parts[i].len);
        rc = ctrl_ok(s, &(struct ctrl_req){ .code = CTRL_SET_STATEBLOB,
                                            .body = hdr, .body_len = 12,
                                            .data = parts[i].data,
                                            .data_len = parts[i].len });
    }
    if (!rc)
        rc = tpm_init(s, s->max_cmd);
    pthread_mutex_unlock(&s->ctrl_lock);
    return rc;
}

static void remove_private_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    /* Only swtpm's own files are in it; nothing nested. */
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    if (rmdir(path) < 0)
        LOG_WARN("swtpm: cannot remove %s: %s", path, strerror(errno));
}

static void swtpm_destroy(struct tpmcrb_backend *be)
{
    struct swtpm *s = to_swtpm(be);

    channel_close(s);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->private_dir)
        remove_private_dir(s->state_dir);
    pthread_mutex_destroy(&s->ctrl_lock);
    free(s->bin);
    free(s->state_dir);
    free(s->ctrl_path);
    free(s->data_path);
    free(s);
}

static const struct tpmcrb_backend_ops swtpm_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "swtpm",
    .power_on = swtpm_power_on,
    .execute = swtpm_execute,
    .cancel = swtpm_cancel,
    .get_established = swtpm_get_established,
    .reset_established = swtpm_reset_established,
    .platform_reset = swtpm_platform_reset,
    .power_off = swtpm_power_off,
    .save_state = swtpm_save_state,
    .load_state = swtpm_load_state,
    .destroy = swtpm_destroy,
};

/* --------------------------------------------------------------- opening */

/* "ctrl=PATH,data=PATH,timeout=SECONDS", each optional. */
static int parse_args(struct swtpm *s, const char *args)
{
    char *copy = strdup(args), *save = NULL;
    int rc = copy ? 0 : -ENOMEM;

    for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv && !rc;
         kv = strtok_r(NULL, ",", &save)) {
        char *end;
        long sec;

        if (!strncmp(kv, "ctrl=", 5) && kv[5]) {
            free(s->ctrl_path);
            rc = (s->ctrl_path = strdup(kv + 5)) ? 0 : -ENOMEM;
        } else if (!strncmp(kv, "data=", 5) && kv[5]) {
            free(s->data_path);
            rc = (s->data_path = strdup(kv + 5)) ? 0 : -ENOMEM;
        } else if (!strncmp(kv, "timeout=", 8)) {
            sec = strtol(kv + 8, &end, 10);
            if (end == kv + 8 || *end || sec < 1 || sec > 3600) {
                LOG_ERROR("swtpm: timeout must be 1..3600 seconds: '%s'", kv);
                rc = -EINVAL;
            }
            s->timeout_ms = (int)sec * 1000;
        } else {
            LOG_ERROR("swtpm: unknown option '%s' (expected ctrl=PATH, "
                      "data=PATH, timeout=SECONDS)", kv);
            rc = -EINVAL;
        }
    }
    free(copy);
    if (!rc && s->data_path && !s->ctrl_path) {
        LOG_ERROR("swtpm: data=PATH needs ctrl=PATH as well");
        rc = -EINVAL;
    }
    return rc;
}

/* One user per state directory (state_dir.h): two swtpms, or swtpm and
 * an embedded TPM, would overwrite each other's state. The directory is
 * made 0700: swtpm's files would otherwise be readable through it. */
static int lock_state_dir(struct swtpm *s)
{
    int dirfd = state_dir_open(s->state_dir);

    if (dirfd < 0)
        return dirfd;
    if (fchmod(dirfd, 0700) < 0)
        LOG_WARN("swtpm: cannot chmod %s to 0700: %s", s->state_dir,
                 strerror(errno));
    s->lock_fd = state_dir_lock(dirfd, s->state_dir, STATE_DIR_OWNER);
    close(dirfd);
    return s->lock_fd < 0 ? s->lock_fd : 0;
}

static int prepare_state_dir(struct swtpm *s, const char *dir)
{
    const char *tmp = getenv("TMPDIR");
    int rc;

    if (dir) {
        char what[256];
        enum state_dir_kind kind = state_dir_probe(dir, what, sizeof(what));

        /* swtpm makes a TPM wherever it finds none of its own. */
        if (kind == STATE_DIR_TPMCRB || kind == STATE_DIR_FOREIGN ||
            kind == STATE_DIR_ERROR) {
            state_dir_refuse(dir, kind, what);
            return -EEXIST;
        }
        if ((rc = state_dir_open(dir)) < 0)
            return rc;
        close(rc);
        if (!(s->state_dir = realpath(dir, NULL)))
            return -errno;
        return lock_state_dir(s);
    }
    if (asprintf(&s->state_dir, "%s/tpmcrb-swtpm-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp") < 0) {
        s->state_dir = NULL;
        return -ENOMEM;
    }
    if (!mkdtemp(s->state_dir) || chmod(s->state_dir, 0700) < 0) {
        rc = -errno;
        LOG_ERROR("swtpm: cannot create a private state directory %s: %s",
                  s->state_dir, strerror(-rc));
        return rc;
    }
    s->private_dir = true;
    return lock_state_dir(s);
}

static int prepare_child(struct swtpm *s, const char *state_dir)
{
    static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
    static int no_auto_shutdown = -1; /* one swtpm binary per process */

    s->bin = find_in_path("swtpm");
    if (!s->bin) {
        LOG_ERROR("swtpm: no 'swtpm' program in PATH (Debian/Ubuntu: "
                  "apt install swtpm)");
        return -ENOENT;
    }
    pthread_mutex_lock(&probe_lock);
    if (no_auto_shutdown < 0)
        no_auto_shutdown = swtpm_has_feature(s->bin,
                                             "flags-opt-disable-auto-shutdown");
    s->no_auto_shutdown = no_auto_shutdown;
    pthread_mutex_unlock(&probe_lock);
    return prepare_state_dir(s, state_dir);
}

int crb_swtpm_open(const char *args, const struct tpmcrb_backend_options *opts,
                   struct tpmcrb_backend **out)
{
    struct swtpm *s = calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return -ENOMEM;
    s->be.ops = &swtpm_ops;
    s->ctrl_fd = s->data_fd = s->lock_fd = -1;
    s->pid = -1;
    s->locality = -1;
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    s->power_cycle = opts->power_cycle;
    pthread_mutex_init(&s->ctrl_lock, NULL);
    rc = parse_args(s, args ? args : "");
    if (!rc && s->ctrl_path && opts->state_dir)
        LOG_WARN("swtpm: state directory %s ignored: the swtpm at %s keeps "
                 "its own", opts->state_dir, s->ctrl_path);
    if (!rc && !s->ctrl_path)
        rc = prepare_child(s, opts->state_dir);
    if (!rc && opts->sync == TPMCRB_STATE_SYNC_PER_COMMAND)
        LOG_DEBUG("swtpm: per-command state sync is not available; the "
                  "state directory stays locked while this backend is open");
    if (!rc)
        rc = channel_open(s);
    if (rc) {
        swtpm_destroy(&s->be);
        return rc < 0 ? rc : -EIO;
    }
    *out = &s->be;
    return 0;
}

pid_t crb_swtpm_child_pid(const struct tpmcrb_backend *be)
{
    if (!be || be->ops != &swtpm_ops)
        return -1;
    return ((const struct swtpm *)be)->pid;
}
