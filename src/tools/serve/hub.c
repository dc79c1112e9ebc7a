/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The idle hub's one thread: an epoll loop over the listening socket and
 * one SOCK_SEQPACKET connection per device, and, every period while any
 * device is armed, a look at the register part of each armed device's
 * pages against the copy taken when it armed.
 *
 * The pages are mapped read-only from the file the device sent. Whoever
 * holds that file can truncate it, and a read of a mapped page past the
 * end of its file raises SIGBUS: the handler maps zeroes over that
 * device's pages (the read then completes) and marks the device, which
 * loses its connection; a fault anywhere else stays fatal.
 */
#include "tools/serve/hub.h"
#include "tools/tool.h"
#include "transport/hub_proto.h"
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTENER       UINT32_MAX
#define EVENTS         64
/* Messages taken from one connection per turn of the loop: a device that
 * floods the hub does not starve the others. */
#define MSGS_PER_TURN  8u
/* File descriptors accepted with one message, to see (and close) all that
 * a hostile device sends. */
#define MAX_FDS        8u
/* Lateness of a look worth a line in the debug log. */
#define LATE_NS        50000000ull

struct hub_device {
    int sock;                 /* -1: free slot */
    bool registered, armed;
    volatile sig_atomic_t faulted;  /* set by the SIGBUS handler */
    const uint8_t *map;
    size_t map_len;
    unsigned localities;
    uint8_t copy[TPMCRB_MAX_LOCALITIES][HUB_WATCH_BYTES];
};

struct hub {
    const struct hub_options *o;
    int listen_fd, ep;
    struct hub_device *dev;
    unsigned used;            /* slots [0, used) may be in use */
    unsigned armed;
    uint64_t next_look;
};

/* For the SIGBUS handler: the hub whose mappings it may repair. */
static struct hub *fault_hub;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    struct hub *h = fault_hub;

    (void)ctx;
    for (unsigned i = 0; h && i < h->used; i++) {
        struct hub_device *d = &h->dev[i];
        uintptr_t start = (uintptr_t)d->map;

        if (d->map && a >= start && a - start < d->map_len) {
            if (mmap((void *)d->map, d->map_len, PROT_READ,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
                break;
            d->faulted = 1;
            return;
        }
    }
    signal(sig, SIG_DFL); /* not a device's page: fault again, fatally */
}

static void drop(struct hub *h, unsigned i, const char *why)
{
    struct hub_device *d = &h->dev[i];

    if (why)
        LOG_WARN("device %u: %s; connection closed", i, why);
    else
        LOG_DEBUG("device %u left", i);
    epoll_ctl(h->ep, EPOLL_CTL_DEL, d->sock, NULL);
    close(d->sock);
    if (d->map)
        munmap((void *)d->map, d->map_len);
    if (d->armed)
        h->armed--;
    memset(d, 0, sizeof(*d));
    d->sock = -1;
}

static void reply(struct hub_device *d, uint16_t type, uint32_t seq)
{
    struct hub_msg m = { .magic = HUB_MAGIC, .version = HUB_VERSION,
                         .type = type, .seq = seq };

    /* Never waits: a device that does not read its socket misses what it
     * did not read (its own watchdog still looks at its pages). */
    if (send(d->sock, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
        errno != EAGAIN && errno != EWOULDBLOCK)
        LOG_DEBUG("send: %s", strerror(errno));
}

/* Why the file @fd cannot be watched at @offset for @localities pages,
 * or NULL when it can. */
static const char *unwatchable(int fd, uint64_t offset, unsigned localities)
{
    uint64_t len = (uint64_t)localities * TPMCRB_PAGE_SIZE;
    struct statfs fs;
    struct stat st;

    if (fstat(fd, &st) < 0 || fstatfs(fd, &fs) < 0)
        return "its file cannot be examined";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    /* Only memory: a page of a file elsewhere can take a disk (or a FUSE
     * server's whim) to read, and the hub must not wait. */
    if (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC)
        return "not a shared memory file (tmpfs or hugetlbfs)";
    if (localities < 1 || localities > TPMCRB_MAX_LOCALITIES)
        return "bad number of localities";
    if (offset % TPMCRB_PAGE_SIZE)
        return "offset not page aligned";
    if (st.st_size < 0 || offset > (uint64_t)st.st_size ||
        len > (uint64_t)st.st_size - offset)
        return "pages beyond the end of the file";
    return NULL;
}

static const char *hello(struct hub_device *d, const struct hub_msg *m, int fd)
{
    const char *why;
    void *p;

    if (d->registered)
        return "second HELLO";
    if (fd < 0)
        return "HELLO without a file";
    if ((why = unwatchable(fd, m->offset, m->localities)))
        return why;
    p = mmap(NULL, (size_t)m->localities * TPMCRB_PAGE_SIZE, PROT_READ,
             MAP_SHARED, fd, (off_t)m->offset);
    if (p == MAP_FAILED)
        return "its file cannot be mapped";
    d->map = p;
    d->map_len = (size_t)m->localities * TPMCRB_PAGE_SIZE;
    d->localities = m->localities;
    d->registered = true;
    return NULL;
}

void (*hub_test_hook)(bool copied);

/* Take the copy the next looks compare with. */
static void arm(struct hub *h, struct hub_device *d)
{
    if (hub_test_hook)
        hub_test_hook(false);
    for (unsigned l = 0; l < d->localities; l++)
        memcpy(d->copy[l], d->map + (size_t)l * TPMCRB_PAGE_SIZE,
               HUB_WATCH_BYTES);
    if (!d->armed && !h->armed++)
        h->next_look = crb_now_ns() + (uint64_t)h->o->period_ms * 1000000ull;
    d->armed = true;
    if (hub_test_hook)
        hub_test_hook(true);
}

/* One message: false when the device is to be dropped (*@why says why). */
static bool handle(struct hub *h, struct hub_device *d, const struct hub_msg *m,
                   int fd, const char **why)
{
    if (m->magic != HUB_MAGIC || m->version != HUB_VERSION)
        *why = "bad magic or version";
    else if (m->type == HUB_HELLO)
        *why = hello(d, m, fd);
    else if (fd >= 0)
        *why = "a file with a message other than HELLO";
    else if (m->type != HUB_ARM)
        *why = "unknown message";
    else if (!d->registered)
        *why = "ARM before HELLO";
    else
        arm(h, d);
    if (!*why && d->faulted)
        *why = "its file shrank under the hub";
    if (*why)
        return false;
    reply(d, HUB_ACK, m->seq);
    return true;
}

/* Receive one message and the files sent with it. 1: got one; 0: none
 * waiting; -1: the connection ended or broke the protocol (*@why). */
static int receive(struct hub_device *d, struct hub_msg *m, int *fd,
                   const char **why)
{
    union {
        char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    unsigned nfds = 0;
    ssize_t n = recvmsg(d->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

    *fd = -1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    for (struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        size_t k;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t j = 0; j < k; j++) {
            int f;

            memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
            if (!nfds++)
                *fd = f;
            else
                close(f);
        }
    }
    if (n <= 0)
        *why = n < 0 ? strerror(errno) : NULL;
    else if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || n != (ssize_t)sizeof(*m))
        *why = "malformed message";
    else if (nfds > 1)
        *why = "more than one file";
    else
        return 1;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return -1;
}

static void readable(struct hub *h, unsigned i)
{
    struct hub_device *d = &h->dev[i];

    for (unsigned k = 0; k < MSGS_PER_TURN; k++) {
        const char *why = NULL;
        struct hub_msg m;
        int fd, r = receive(d, &m, &fd, &why);
        bool ok;

        if (r == 0)
            return;
        if (r < 0) {
            drop(h, i, why);
            return;
        }
        ok = handle(h, d, &m, fd, &why);
        if (fd >= 0)
            close(fd); /* mapped (or refused); the mapping keeps the file */
        if (!ok) {
            drop(h, i, why);
            return;
        }
    }
}

static void accept_devices(struct hub *h)
{
    int s;

    while ((s = accept4(h->listen_fd, NULL, NULL,
                        SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
        unsigned i = 0;

        while (i < h->o->max_devices && h->dev[i].sock >= 0)
            i++;
        if (i == h->o->max_devices) {
            LOG_WARN("%u devices already; a new one is turned away",
                     h->o->max_devices);
            close(s);
            continue;
        }
        ev.data.u32 = i;
        if (epoll_ctl(h->ep, EPOLL_CTL_ADD, s, &ev) < 0) {
            close(s);
            continue;
        }
        h->dev[i].sock = s;
        if (i >= h->used)
            h->used = i + 1;
    }
}

/* Look at every armed device's registers; wake those whose guest wrote. */
static void look(struct hub *h)
{
    for (unsigned i = 0; i < h->used; i++) {
        struct hub_device *d = &h->dev[i];
        bool wrote = false;

        if (!d->armed)
            continue;
        for (unsigned l = 0; l < d->localities && !wrote; l++)
            wrote = memcmp(d->copy[l], d->map + (size_t)l * TPMCRB_PAGE_SIZE,
                           HUB_WATCH_BYTES) != 0;
        if (d->faulted) {
            drop(h, i, "its file shrank under the hub");
        } else if (wrote) {
            LOG_DEBUG("device %u: the guest wrote; woken", i);
            d->armed = false;
            h->armed--;
            reply(d, HUB_WAKE, 0);
        }
    }
}

static int listen_on(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct stat st;
    int s, probe;

    if (strlen(path) >= sizeof(a.sun_path)) {
        LOG_ERROR("%s: path too long for a socket", path);
        return -ENAMETOOLONG;
    }
    strcpy(a.sun_path, path);
    /* A socket left by a hub that died is replaced; a live hub is not. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe >= 0) {
            bool live = connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
            bool dead = !live && errno == ECONNREFUSED;

            close(probe);
            if (live) {
                LOG_ERROR("%s: another hub listens there", path);
                return -EADDRINUSE;
            }
            if (dead)
                unlink(path);
        }
    }
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(s, SOMAXCONN) < 0) {
        int err = -errno;

        LOG_ERROR("%s: %s", path, strerror(errno));
        if (s >= 0)
            close(s);
        return err;
    }
    return s;
}

/* One descriptor per device: ask for as many as the hard limit allows. */
static void raise_fd_limit(unsigned devices)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < devices + 64u) {
        r.rlim_cur = r.rlim_max < devices + 64u ? r.rlim_max : devices + 64u;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

int hub_run(const struct hub_options *o, volatile sig_atomic_t *stop)
{
    struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER };
    struct hub h = { .o = o, .ep = -1 };
    mode_t old_mask;
    int err = 0;

    raise_fd_limit(o->max_devices);
    if (!(h.dev = calloc(o->max_devices, sizeof(*h.dev))))
        return -ENOMEM;
    for (unsigned i = 0; i < o->max_devices; i++)
        h.dev[i].sock = -1;
    old_mask = umask(0177); /* the socket: its owner only */
    h.listen_fd = listen_on(o->socket_path);
    umask(old_mask);
    if (h.listen_fd < 0) {
        free(h.dev);
        return h.listen_fd;
    }
    if ((h.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        epoll_ctl(h.ep, EPOLL_CTL_ADD, h.listen_fd, &ev) < 0) {
        err = -errno;
        LOG_ERROR("epoll: %s", strerror(errno));
        goto out;
    }
    fault_hub = &h;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    /* The looks may come late by an eighth of the period: the system can
     * then serve this wake-up together with others. */
    os_timer_slack((uint64_t)o->period_ms * 1000000ull / 8);
    LOG_INFO("idle hub at %s: looks every %u ms, up to %u devices",
             o->socket_path, o->period_ms, o->max_devices);
    while (!*stop) {
        struct epoll_event evs[EVENTS];
        uint64_t now = crb_now_ns();
        bool new_devices = false;
        int timeout = -1, n;

        if (h.armed)
            timeout = h.next_look > now ?
                      (int)((h.next_look - now + 999999) / 1000000) : 0;
        n = epoll_wait(h.ep, evs, EVENTS, timeout);
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;

            if (i == LISTENER)
                new_devices = true;
            else if (h.dev[i].sock >= 0 && (evs[k].events & EPOLLIN))
                readable(&h, i);
            else if (h.dev[i].sock >= 0)
                drop(&h, i, NULL);
        }
        /* After the batch: a slot freed in it and given to a new device
         * must not receive the old connection's events. */
        if (new_devices)
            accept_devices(&h);
        if (h.armed && (now = crb_now_ns()) >= h.next_look) {
            /* A look much later than due is the host not running the hub
             * (its wake-ups come late by these milliseconds too). */
            if (now - h.next_look > LATE_NS)
                LOG_DEBUG("a look %llu ms late", (unsigned long long)((now - h.next_look) / 1000000u));
            look(&h);
            h.next_look = crb_now_ns() + (uint64_t)o->period_ms * 1000000ull;
        }
    }
out:
    for (unsigned i = 0; i < h.used; i++)
        if (h.dev[i].sock >= 0)
            drop(&h, i, NULL);
    fault_hub = NULL;
    if (h.ep >= 0)
        close(h.ep);
    close(h.listen_fd);
    unlink(o->socket_path);
    free(h.dev);
    return err;
}
