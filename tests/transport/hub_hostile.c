/* SPDX-License-Identifier: BSD-3-Clause */
/* A hostile device against `tpmcrb serve-hub`: every malformed or unsafe
 * registration must be refused (the hub closes the connection, no ACK), a
 * file truncated under the hub must cost only its own connection, and the
 * hub must go on watching a well-behaved device: ACK for HELLO and ARM,
 * WAKE after a write to the registers.
 * usage: hub-hostile SOCKET SHM_DIR */
#include "tpmcrb.h"
#include "transport/hub_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGES (TPMCRB_MAX_LOCALITIES * TPMCRB_PAGE_SIZE)

static const char *sock_path, *dir;
static int failures;

static int connect_hub(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("hub-hostile: connect");
        exit(1);
    }
    return s;
}

static void send_raw(int s, const void *buf, size_t len, const int *fds,
                     unsigned nfds)
{
    char ctl[CMSG_SPACE(4 * sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (nfds) {
        struct cmsghdr *c;

        msg.msg_control = ctl;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
        perror("hub-hostile: sendmsg"); /* the hub may have closed already */
}

static struct hub_msg msg(uint16_t type, uint32_t localities, uint64_t offset)
{
    return (struct hub_msg){ .magic = HUB_MAGIC, .version = HUB_VERSION,
                             .type = type, .seq = 7, .localities = localities,
                             .offset = offset };
}

/* The next message from the hub: its type, 0 if the connection ended, -1
 * if nothing came within @ms. */
static int next_reply(int s, int ms)
{
    struct pollfd p = { .fd = s, .events = POLLIN };
    struct hub_msg m;
    ssize_t n;

    if (poll(&p, 1, ms) <= 0)
        return -1;
    n = recv(s, &m, sizeof(m), 0);
    if (n <= 0)
        return 0;
    return n == sizeof(m) ? m.type : -2;
}

static void expect(const char *what, int s, int want)
{
    int got = next_reply(s, 3000);

    if (got != want) {
        fprintf(stderr, "hub-hostile: %s: hub answered %d, expected %d\n",
                what, got, want);
        failures++;
    }
}

/* A tmpfs file of @size bytes, open read-write. */
static int shm_file(const char *name, off_t size)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, size) < 0) {
        perror(path);
        exit(1);
    }
    return fd;
}

static void refused(const char *what, const void *buf, size_t len,
                    const int *fds, unsigned nfds)
{
    int s = connect_hub();

    send_raw(s, buf, len, fds, nfds);
    expect(what, s, 0);
    close(s);
}

static void refused_hello(const char *what, struct hub_msg m, int fd)
{
    refused(what, &m, sizeof(m), &fd, fd >= 0 ? 1 : 0);
}

/* Registered and armed: the connection of a device that behaves. */
static int good_device(int fd, const char *what)
{
    int s = connect_hub();
    struct hub_msg m = msg(HUB_HELLO, TPMCRB_MAX_LOCALITIES, 0);

    send_raw(s, &m, sizeof(m), &fd, 1);
    expect(what, s, HUB_ACK);
    m = msg(HUB_ARM, 0, 0);
    send_raw(s, &m, sizeof(m), NULL, 0);
    expect(what, s, HUB_ACK);
    return s;
}

int main(int argc, char **argv)
{
    int good = -1, small, pipefd[2], proc, flood, s, fds[2];
    struct hub_msg m;
    char junk[sizeof(struct hub_msg) + 8] = { 0 };
    uint8_t *pages;

    if (argc != 3)
        return 2;
    sock_path = argv[1];
    dir = argv[2];
    good = shm_file("good", PAGES);
    small = shm_file("small", TPMCRB_PAGE_SIZE);
    if (pipe(pipefd) < 0 || (proc = open("/proc/self/stat", O_RDONLY)) < 0)
        return 1;

    refused("short message", junk, 4, NULL, 0);
    refused("long message", junk, sizeof(junk), NULL, 0);
    m = msg(HUB_HELLO, 1, 0);
    m.magic ^= 1;
    refused_hello("bad magic", m, good);
    m = msg(HUB_HELLO, 1, 0);
    m.version = 99;
    refused_hello("bad version", m, good);
    refused_hello("HELLO without a file", msg(HUB_HELLO, 1, 0), -1);
    refused_hello("a pipe", msg(HUB_HELLO, 1, 0), pipefd[0]);
    refused_hello("a file not in shared memory", msg(HUB_HELLO, 1, 0), proc);
    refused_hello("pages beyond the end", msg(HUB_HELLO, 2, 0), small);
    refused_hello("offset beyond the end", msg(HUB_HELLO, 1, TPMCRB_PAGE_SIZE * TPMCRB_MAX_LOCALITIES), good);
    refused_hello("offset overflowing", msg(HUB_HELLO, 1, UINT64_MAX - TPMCRB_PAGE_SIZE + 1), good);
    refused_hello("unaligned offset", msg(HUB_HELLO, 1, 8), good);
    refused_hello("no localities", msg(HUB_HELLO, 0, 0), good);
    refused_hello("six localities", msg(HUB_HELLO, 6, 0), good);
    fds[0] = good;
    fds[1] = small;
    m = msg(HUB_HELLO, 1, 0);
    refused("two files", &m, sizeof(m), fds, 2);
    m = msg(HUB_ARM, 0, 0);
    refused("ARM before HELLO", &m, sizeof(m), NULL, 0);
    m = msg(HUB_WAKE, 0, 0);
    refused("a message only the hub sends", &m, sizeof(m), NULL, 0);

    s = good_device(good, "well-behaved device");
    m = msg(HUB_HELLO, 1, 0);
    send_raw(s, &m, sizeof(m), &good, 1);
    expect("second HELLO", s, 0);
    close(s);
    s = good_device(good, "well-behaved device");
    m = msg(HUB_ARM, 0, 0);
    send_raw(s, &m, sizeof(m), &good, 1);
    expect("ARM with a file", s, 0);
    close(s);

    /* A device that truncates its file under the hub's mapping. */
    {
        int victim = shm_file("shrinks", PAGES);

        s = good_device(victim, "device before shrinking");
        if (ftruncate(victim, 0) < 0)
            return 1;
        expect("file truncated under the hub", s, 0);
        close(s);
        close(victim);
    }

    /* One that floods the hub with ARMs and never reads its answers. */
    flood = good_device(good, "flooding device");
    fcntl(flood, F_SETFL, O_NONBLOCK);
    m = msg(HUB_ARM, 0, 0);
    for (int i = 0; i < 100000; i++)
        if (send(flood, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno != EAGAIN)
            break;

    /* The hub still watches a well-behaved device: a register write wakes it. */
    pages = mmap(NULL, PAGES, PROT_READ | PROT_WRITE, MAP_SHARED, good, 0);
    if (pages == MAP_FAILED)
        return 1;
    s = good_device(good, "device after the hostile ones");
    pages[3 * TPMCRB_PAGE_SIZE + TPMCRB_REG_CTRL_REQ] ^= 1;
    expect("a register write while armed", s, HUB_WAKE);
    /* A write to the data buffer alone is not a register write. */
    m = msg(HUB_ARM, 0, 0);
    send_raw(s, &m, sizeof(m), NULL, 0);
    expect("re-arm", s, HUB_ACK);
    pages[TPMCRB_REG_DATA_BUFFER + 4] ^= 1;
    if (next_reply(s, 300) != -1) {
        fprintf(stderr, "hub-hostile: woken by a write to the data buffer\n");
        failures++;
    }
    close(flood);
    close(s);
    if (failures)
        return 1;
    printf("hub-hostile: every hostile registration refused, hub still watching\n");
    return 0;
}
