/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client of the idle hub (hub_proto.h). Nothing here blocks the poll
 * thread for longer than ACK_TIMEOUT_NS: sends never wait (a hub that does
 * not read is a hub that is given up), and every answer is awaited with a
 * timeout, so a stuck hub costs the guest at most what the poll thread's
 * own longest sleep would.
 */
#include "transport/hub_client.h"
#include "transport/hub_proto.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The hub answers HELLO and ARM at once; one that takes longer than the
 * poll thread's own longest sleep is not worth waiting for. */
#define ACK_TIMEOUT_NS 50000000ull
/* After the hub failed or refused, the device polls by itself and tries
 * again only this much later (a restarted hub is found again). */
#define RETRY_NS       10000000000ull

struct hub_client {
    struct sockaddr_un addr;
    int mem_fd, sock;
    int interrupt[2];      /* a pipe: a byte in it ends hub_client_wait() */
    uint64_t offset;
    unsigned localities;
    uint32_t seq;
    uint64_t retry_at;     /* crb_now_ns() of the next connection attempt */
    bool warned;           /* the last failure was logged as a warning */
};

int hub_client_new(const char *socket_path, int mem_fd, uint64_t offset,
                   unsigned localities, struct hub_client **out)
{
    struct hub_client *h;

    if (strlen(socket_path) >= sizeof(h->addr.sun_path))
        return -ENAMETOOLONG;
    if (!(h = calloc(1, sizeof(*h))))
        return -ENOMEM;
    h->addr.sun_family = AF_UNIX;
    strcpy(h->addr.sun_path, socket_path);
    h->sock = -1;
    h->offset = offset;
    h->localities = localities;
    h->mem_fd = fcntl(mem_fd, F_DUPFD_CLOEXEC, 0);
    if (h->mem_fd < 0 || pipe(h->interrupt) < 0) {
        int err = -errno;

        if (h->mem_fd >= 0)
            close(h->mem_fd);
        free(h);
        return err;
    }
    fcntl(h->interrupt[0], F_SETFD, FD_CLOEXEC);
    fcntl(h->interrupt[1], F_SETFD, FD_CLOEXEC);
    fcntl(h->interrupt[1], F_SETFL, O_NONBLOCK);
    *out = h;
    return 0;
}

void hub_client_free(struct hub_client *h)
{
    if (!h)
        return;
    if (h->sock >= 0)
        close(h->sock);
    close(h->mem_fd);
    close(h->interrupt[0]);
    close(h->interrupt[1]);
    free(h);
}

void hub_client_interrupt(struct hub_client *h)
{
    ssize_t n = write(h->interrupt[1], "", 1);

    (void)n; /* full: an interrupt is pending anyway */
}

static void give_up(struct hub_client *h, const char *why)
{
    /* Said once until the hub is found again: a host without a hub would
     * otherwise fill the log. */
    if (!h->warned)
        LOG_WARN("hub %s: %s; polling by itself, trying again every %llu s",
                 h->addr.sun_path, why, RETRY_NS / 1000000000ull);
    else
        LOG_DEBUG("hub %s: %s", h->addr.sun_path, why);
    h->warned = true;
    if (h->sock >= 0)
        close(h->sock);
    h->sock = -1;
    h->retry_at = crb_now_ns() + RETRY_NS;
}

static bool send_msg(struct hub_client *h, uint16_t type, int fd)
{
    struct hub_msg m = {
        .magic = HUB_MAGIC, .version = HUB_VERSION, .type = type,
        .seq = ++h->seq, .localities = h->localities, .offset = h->offset,
    };
    struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (fd >= 0) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(h->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(m);
}

/* One message from the hub into @m: 1, 0 if none yet, -1 if the hub is
 * gone or spoke nonsense. */
static int recv_msg(struct hub_client *h, struct hub_msg *m)
{
    ssize_t n = recv(h->sock, m, sizeof(*m), MSG_DONTWAIT | MSG_TRUNC);

    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (n != (ssize_t)sizeof(*m) || m->magic != HUB_MAGIC ||
        m->version != HUB_VERSION)
        return -1;
    return 1;
}

/* Wait for the ACK of the last message sent; false after giving up. */
static bool await_ack(struct hub_client *h)
{
    uint64_t deadline = crb_now_ns() + ACK_TIMEOUT_NS;

    for (;;) {
        struct pollfd pfd = { .fd = h->sock, .events = POLLIN };
        struct hub_msg m;
        uint64_t now = crb_now_ns();
        int r;

        while ((r = recv_msg(h, &m)) > 0)
            if (m.type == HUB_ACK && m.seq == h->seq)
                return true;  /* a WAKE of an earlier arming is stale */
        if (r < 0) {
            give_up(h, "connection lost");
            return false;
        }
        if (now >= deadline) {
            give_up(h, "no answer");
            return false;
        }
        poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
    }
}

static bool connect_hub(struct hub_client *h)
{
    /* Non-blocking: a hub that does not accept (its backlog full) must
     * not hold the poll thread in connect(). */
    h->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->sock < 0 ||
        connect(h->sock, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0) {
        give_up(h, strerror(errno));
        return false;
    }
    if (!send_msg(h, HUB_HELLO, h->mem_fd)) {
        give_up(h, "cannot register");
        return false;
    }
    if (!await_ack(h))
        return false;
    LOG_INFO("hub %s watches this device while it is idle", h->addr.sun_path);
    h->warned = false;
    return true;
}

void (*hub_client_test_hook)(uint64_t offset, enum hub_arm_step step);

static void test_step(const struct hub_client *h, enum hub_arm_step step)
{
    if (hub_client_test_hook)
        hub_client_test_hook(h->offset, step);
}

bool hub_client_arm(struct hub_client *h)
{
    if (h->sock < 0 && (crb_now_ns() < h->retry_at || !connect_hub(h)))
        return false;
    test_step(h, HUB_STEP_BEFORE_ARM);
    if (!send_msg(h, HUB_ARM, -1)) {
        give_up(h, "cannot hand over");
        return false;
    }
    test_step(h, HUB_STEP_ARM_SENT);
    if (!await_ack(h))
        return false;
    test_step(h, HUB_STEP_ACKED);
    return true;
}

enum hub_wait_result hub_client_wait(struct hub_client *h, uint64_t timeout_ns)
{
    struct pollfd pfd[2] = {
        { .fd = h->sock, .events = POLLIN },
        { .fd = h->interrupt[0], .events = POLLIN },
    };
    struct hub_msg m;
    bool woken = false;
    int r;

    if (h->sock < 0)
        return HUB_LOST;
    if (poll(pfd, 2, (int)(timeout_ns / 1000000)) < 0 && errno != EINTR)
        return HUB_WATCHDOG;
    if (pfd[1].revents) {
        char drain[16];

        if (read(h->interrupt[0], drain, sizeof(drain)) < 0)
            LOG_DEBUG("interrupt pipe: %s", strerror(errno));
        return HUB_STOPPING;
    }
    if (!pfd[0].revents)
        return HUB_WATCHDOG;
    while ((r = recv_msg(h, &m)) > 0)
        woken |= m.type == HUB_WAKE;
    if (r < 0) {
        give_up(h, "connection lost");
        return HUB_LOST;
    }
    return woken ? HUB_WOKEN : HUB_WATCHDOG;
}
