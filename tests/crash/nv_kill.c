/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash safety of `tpmcrb pipe`: SIGKILL at random moments during a loop of
 * NV writes, hundreds of times. Every write acknowledged before a kill must
 * be readable afterwards, and the state must always load. A kill that left
 * the NV file's temporary behind landed inside the NV write (between its
 * create and its rename): those are counted, and some are required, or the
 * test would not show what it claims (run_nv_kill.sh stalls each sync of
 * a state file through the fault shim to make that window wide enough).
 * usage: nv-kill TPMCRB STATE-DIR KILLS
 */
#include "tpm_commands.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NV_INDEX 0x01500020u
#define TPM_RC_NV_DEFINED 0x14Cu

struct child {
    pid_t pid;
    int in, out;
};

static void die(const char *msg)
{
    fprintf(stderr, "nv-kill: %s\n", msg);
    exit(1);
}

static struct child spawn(const char *tpmcrb, const char *state)
{
    int to[2], from[2];
    struct child c;

    if (pipe(to) || pipe(from))
        die("pipe");
    c.pid = fork();
    if (c.pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execl(tpmcrb, tpmcrb, "pipe", "--state", state, "--no-flush", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c.in = to[1];
    c.out = from[0];
    return c;
}

static void send_cmd(struct child *c, const struct tpm_buf *b)
{
    if (write(c->in, b->data, b->len) != (ssize_t)b->len)
        die("write to pipe");
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);

        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Read one response; returns its rc, or -1 when the pipe died. */
static long recv_rsp(struct child *c, uint8_t *rsp, uint32_t *len)
{
    if (read_full(c->out, rsp, TPM_HEADER_SIZE) < 0)
        return -1;
    *len = tpm_hdr_size(rsp);
    if (*len < TPM_HEADER_SIZE || *len > 4096 ||
        read_full(c->out, rsp + TPM_HEADER_SIZE, *len - TPM_HEADER_SIZE) < 0)
        return -1;
    return (long)tpm_hdr_code(rsp);
}

static long transact(struct child *c, const struct tpm_buf *b, uint8_t *rsp,
                     uint32_t *len)
{
    send_cmd(c, b);
    return recv_rsp(c, rsp, len);
}

static void finish(struct child *c, int sig)
{
    int status;

    if (sig)
        kill(c->pid, sig);
    close(c->in);
    close(c->out);
    waitpid(c->pid, &status, 0);
}

static void put_value(struct tpm_buf *b, uint64_t v)
{
    uint8_t data[8];

    for (int i = 0; i < 8; i++)
        data[i] = (uint8_t)(v >> (56 - 8 * i));
    b->len = tc_nv_write(b->data, NV_INDEX, data, 8);
}

static uint64_t read_value(struct child *c)
{
    uint8_t rsp[4096];
    const uint8_t *p;
    struct tpm_buf b;
    uint32_t len;
    uint16_t n;
    uint64_t v = 0;
    long rc;

    b.len = tc_nv_read(b.data, NV_INDEX, 8);
    rc = transact(c, &b, rsp, &len);
    if (rc != 0 || !(p = tc_nv_read_data(rsp, len, &n)) || n != 8) {
        fprintf(stderr, "nv-kill: NV_Read after restart failed (rc %ld): "
                "the state did not load\n", rc);
        exit(1);
    }
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void define_index(const char *tpmcrb, const char *state)
{
    struct child c = spawn(tpmcrb, state);
    uint8_t rsp[4096];
    struct tpm_buf b;
    uint32_t len;
    long rc;

    b.len = tc_nv_define(b.data, NV_INDEX, 8, TC_NV_OWNER_RW);
    rc = transact(&c, &b, rsp, &len);
    if (rc != 0 && rc != TPM_RC_NV_DEFINED)
        die("NV_DefineSpace failed");
    put_value(&b, 0);
    if (transact(&c, &b, rsp, &len) != 0)
        die("first NV_Write failed");
    finish(&c, SIGTERM);
}

int main(int argc, char **argv)
{
    uint64_t acked = 0, sent = 0;
    unsigned kills, killed_in_flight = 0, killed_in_write = 0;
    char tmp_path[4096];
    struct stat sb;

    if (argc != 4)
        return 2;
    kills = (unsigned)atoi(argv[3]);
    srand((unsigned)time(NULL));
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp_path, sizeof(tmp_path), "%s/.tpm2-nv.state.tmp", argv[2]);
    define_index(argv[1], argv[2]);
    for (unsigned k = 0; k < kills; k++) {
        struct child c = spawn(argv[1], argv[2]);
        uint64_t v = read_value(&c);
        unsigned writes = (unsigned)(rand() % 4);
        uint8_t rsp[4096];
        struct tpm_buf b;
        uint32_t len;

        if (v != acked && v != sent) {
            fprintf(stderr, "nv-kill: after kill %u the index holds %llu; "
                    "acknowledged %llu, sent %llu\n", k,
                    (unsigned long long)v, (unsigned long long)acked,
                    (unsigned long long)sent);
            return 1;
        }
        acked = sent = v;
        for (unsigned i = 0; i < writes; i++) {
            put_value(&b, ++sent);
            if (transact(&c, &b, rsp, &len) != 0)
                die("NV_Write failed");
            acked = sent;
        }
        /* One more write, killed at a random moment while it runs. */
        put_value(&b, ++sent);
        send_cmd(&c, &b);
        usleep((useconds_t)(rand() % 3000));
        kill(c.pid, SIGKILL);
        if (recv_rsp(&c, rsp, &len) == 0)
            acked = sent; /* it answered before the kill landed */
        else
            killed_in_flight++;
        finish(&c, 0);
        /* Created and renamed within one NV write: present only when the
         * kill landed inside it (the next start replaces it). */
        if (stat(tmp_path, &sb) == 0)
            killed_in_write++;
    }
    printf("nv-kill: %u kills, %u before the response, %u inside the NV "
           "file's write, last value %llu: every acknowledged write "
           "survived\n", kills, killed_in_flight, killed_in_write,
           (unsigned long long)acked);
    if (killed_in_write < kills / 20 || killed_in_write == 0) {
        fprintf(stderr, "nv-kill: only %u of %u kills landed inside an NV "
                "write: the test did not exercise torn writes\n",
                killed_in_write, kills);
        return 1;
    }
    return 0;
}
