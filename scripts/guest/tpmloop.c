/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tpmloop: a guest-side benchmark. Sends TPM2_GetRandom(32) through a TPM
 * character device (/dev/tpm0 or /dev/tpmrm0) in a loop, for N commands or
 * T seconds, and prints one parseable line:
 *
 *   TPMLOOP dev=/dev/tpm0 commands=N seconds=S rate=R
 *
 * With -l it also times each command and appends p50_us=, p90_us= and
 * p99_us=: a Linux guest that finds a response unfinished at its first
 * status read sleeps about a millisecond, which shows up there.
 *
 * Built static on the host (gcc -static) so that the guest initramfs needs
 * no libraries for it. Exit status: 0 ok, 1 a command failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TPM_ST_NO_SESSIONS 0x8001u
#define TPM2_CC_GET_RANDOM 0x0000017Bu
#define RANDOM_BYTES       32u
#define BUCKET_US          10u    /* latency histogram resolution */
#define BUCKETS            2000u  /* up to 20 ms; slower ones go in the last */

static const uint8_t get_random_cmd[] = {
    TPM_ST_NO_SESSIONS >> 8, TPM_ST_NO_SESSIONS & 0xFF,
    0, 0, 0, 12,                                  /* commandSize */
    0, 0, TPM2_CC_GET_RANDOM >> 8, TPM2_CC_GET_RANDOM & 0xFF,
    0, RANDOM_BYTES,                              /* bytesRequested */
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long histogram[BUCKETS];

static void record_latency(double seconds)
{
    unsigned long bucket = (unsigned long)(seconds * 1e6 / BUCKET_US);

    histogram[bucket < BUCKETS ? bucket : BUCKETS - 1]++;
}

/* Upper bound of the bucket holding the @pct percentile, in microseconds. */
static unsigned percentile_us(unsigned long count, unsigned pct)
{
    unsigned long want = (count * pct + 99) / 100, seen = 0;

    for (unsigned i = 0; i < BUCKETS; i++) {
        seen += histogram[i];
        if (seen >= want && want)
            return (i + 1) * BUCKET_US;
    }
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* One command: the kernel driver takes a whole command per write() and
 * returns the whole response on the next read(). */
static int get_random(int fd)
{
    uint8_t rsp[128];
    ssize_t n;

    n = write(fd, get_random_cmd, sizeof(get_random_cmd));
    if (n != (ssize_t)sizeof(get_random_cmd)) {
        fprintf(stderr, "tpmloop: write: %s\n", n < 0 ? strerror(errno) : "short");
        return -1;
    }
    n = read(fd, rsp, sizeof(rsp));
    if (n < 10) {
        fprintf(stderr, "tpmloop: read: %s\n", n < 0 ? strerror(errno) : "short");
        return -1;
    }
    if (be32(rsp + 6) != 0) {
        fprintf(stderr, "tpmloop: TPM response code 0x%x\n", be32(rsp + 6));
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: tpmloop [-l] [-n COMMANDS] [-t SECONDS] DEVICE\n");
}

int main(int argc, char **argv)
{
    unsigned long max_cmds = 0;
    double max_secs = 0, start, elapsed;
    unsigned long count = 0;
    int opt, fd, rc = 0, latency = 0;

    while ((opt = getopt(argc, argv, "ln:t:")) != -1) {
        switch (opt) {
        case 'l': latency = 1; break;
        case 'n': max_cmds = strtoul(optarg, NULL, 0); break;
        case 't': max_secs = strtod(optarg, NULL); break;
        default: usage(); return 2;
        }
    }
    if (optind != argc - 1) {
        usage();
        return 2;
    }
    if (max_cmds == 0 && max_secs <= 0)
        max_secs = 3;

    fd = open(argv[optind], O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "tpmloop: %s: %s\n", argv[optind], strerror(errno));
        return 1;
    }
    start = now_seconds();
    for (;;) {
        if (max_cmds && count >= max_cmds)
            break;
        /* Reading the clock every 64 commands keeps it out of the loop's cost. */
        if (max_secs > 0 && (count & 63) == 0 && now_seconds() - start >= max_secs)
            break;
        double t0 = latency ? now_seconds() : 0;
        if (get_random(fd) < 0) {
            rc = 1;
            break;
        }
        if (latency)
            record_latency(now_seconds() - t0);
        count++;
    }
    elapsed = now_seconds() - start;
    close(fd);
    printf("TPMLOOP dev=%s commands=%lu seconds=%.3f rate=%.0f", argv[optind],
           count, elapsed, elapsed > 0 ? (double)count / elapsed : 0.0);
    if (latency)
        printf(" p50_us=%u p90_us=%u p99_us=%u", percentile_us(count, 50),
               percentile_us(count, 90), percentile_us(count, 99));
    printf("\n");
    fflush(stdout);
    return rc;
}
