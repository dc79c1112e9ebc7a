/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_proc.h"
#include "tools/tool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void argv_push(struct argv_list *a, char *s)
{
    if (!s) {
        a->failed = true;
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            free(s);
            a->failed = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

void argv_add(struct argv_list *a, const char *s)
{
    argv_push(a, strdup(s));
}

void argv_addf(struct argv_list *a, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    argv_push(a, s);
}

bool argv_ok(const struct argv_list *a)
{
    return !a->failed && a->v;
}

void argv_free(struct argv_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

static void child_setup(int in_fd, int out_fd, int err_fd, int keep_fd,
                        pid_t parent)
{
    /* Die with the parent: a QEMU or swtpm left behind would keep the guest
     * memory and the state directory busy. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (in_fd >= 0 && dup2(in_fd, STDIN_FILENO) < 0)
        _exit(127);
    if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
        _exit(127);
    if (keep_fd >= 0)
        fcntl(keep_fd, F_SETFD, 0);
}

static pid_t spawn(char *const argv[], int in_fd, int out_fd, int err_fd,
                   int keep_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0) {
        LOG_ERROR("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        child_setup(in_fd, out_fd, err_fd, keep_fd, parent);
        execvp(argv[0], argv);
        LOG_ERROR("cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

pid_t vm_spawn(char *const argv[], int in_fd, int out_fd, int keep_fd)
{
    return spawn(argv, in_fd, out_fd, -1, keep_fd);
}

static int read_all(int fd, char **out)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;

    if (!buf)
        return -1;
    for (;;) {
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return -1;
            }
            buf = bigger;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int vm_capture(char *const argv[], char **out)
{
    return vm_capture_stdout(argv, out, false);
}

int vm_capture_stdout(char *const argv[], char **out, bool drop_stderr)
{
    int fds[2], status, rc, null = -1;
    pid_t pid;

    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    if (drop_stderr)
        null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid = spawn(argv, -1, fds[1], null, -1);
    close(fds[1]);
    if (null >= 0)
        close(null);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    rc = read_all(fds[0], out);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (rc < 0 || !WIFEXITED(status)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return WEXITSTATUS(status);
}
