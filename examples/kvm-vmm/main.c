/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tpmcrb-kvm-vmm: run the freestanding guest on KVM with a tpmcrb device.
 *
 * Without --bench: TPM2_Startup, TPM2_GetRandom, TPM2_PCR_Extend and
 * TPM2_PCR_Read, each shown with the exits it cost. With --bench N: N
 * commands of each kind (a 12-byte TPM2_GetRandom and a command of --big
 * bytes, polled as fast as possible and with Linux's timing), one STAT
 * line each; `tpmcrb bench trap` runs this for every mapping.
 */
#include "vmm.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPM_ST_NO_SESSIONS 0x8001u
#define TPM_ST_SESSIONS    0x8002u
#define TPM_CC_Startup     0x144u
#define TPM_CC_Hash        0x17Du
#define TPM_CC_GetRandom   0x17Bu
#define TPM_CC_PCR_Read    0x17Eu
#define TPM_CC_PCR_Extend  0x182u
#define TPM_RS_PW          0x40000009u
#define TPM_ALG_SHA256     0x000Bu
#define TPM_RH_NULL        0x40000007u
#define DEMO_PCR           16u  /* the debug PCR, resettable */
#define WARMUP             10u

struct opts {
    struct vmm_options vmm;
    unsigned bench;        /* commands per measurement; 0: the demo */
    unsigned big_count;    /* the same for the large command; 0: bench */
    uint32_t big;          /* size of the large command */
};

/* ------------------------------------------------------------ commands */

struct cmd {
    uint8_t b[TPMCRB_PAGE_SIZE];
    uint32_t len;
};

static void put16(struct cmd *c, uint16_t v)
{
    c->b[c->len++] = (uint8_t)(v >> 8);
    c->b[c->len++] = (uint8_t)v;
}

static void put32(struct cmd *c, uint32_t v)
{
    put16(c, (uint16_t)(v >> 16));
    put16(c, (uint16_t)v);
}

static void begin(struct cmd *c, uint16_t tag, uint32_t code)
{
    c->len = 0;
    put16(c, tag);
    put32(c, 0); /* size, set by end() */
    put32(c, code);
}

static const struct cmd *end(struct cmd *c)
{
    c->b[2] = (uint8_t)(c->len >> 24);
    c->b[3] = (uint8_t)(c->len >> 16);
    c->b[4] = (uint8_t)(c->len >> 8);
    c->b[5] = (uint8_t)c->len;
    return c;
}

static const struct cmd *cmd_startup(struct cmd *c)
{
    begin(c, TPM_ST_NO_SESSIONS, TPM_CC_Startup);
    put16(c, 0); /* TPM_SU_CLEAR */
    return end(c);
}

static const struct cmd *cmd_getrandom(struct cmd *c, uint16_t bytes)
{
    begin(c, TPM_ST_NO_SESSIONS, TPM_CC_GetRandom);
    put16(c, bytes);
    return end(c);
}

/* PCR_Extend with the empty password session. */
static const struct cmd *cmd_pcr_extend(struct cmd *c, uint32_t pcr,
                                        const uint8_t digest[32])
{
    begin(c, TPM_ST_SESSIONS, TPM_CC_PCR_Extend);
    put32(c, pcr);
    put32(c, 9);           /* authorizationSize */
    put32(c, TPM_RS_PW);
    put16(c, 0);           /* nonce */
    c->b[c->len++] = 0;    /* session attributes */
    put16(c, 0);           /* hmac */
    put32(c, 1);           /* TPML_DIGEST_VALUES.count */
    put16(c, TPM_ALG_SHA256);
    memcpy(c->b + c->len, digest, 32);
    c->len += 32;
    return end(c);
}

static const struct cmd *cmd_pcr_read(struct cmd *c, uint32_t pcr)
{
    begin(c, TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read);
    put32(c, 1);           /* TPML_PCR_SELECTION.count */
    put16(c, TPM_ALG_SHA256);
    c->b[c->len++] = 3;    /* sizeofSelect */
    for (unsigned i = 0; i < 3; i++)
        c->b[c->len++] = i == pcr / 8 ? (uint8_t)(1u << (pcr % 8)) : 0;
    return end(c);
}

/* A TPM2_Hash of @len bytes in all. TPM2B_MAX_BUFFER holds at most 1 KiB,
 * so a larger one is answered with a size error after the TPM parsed it:
 * it measures the transport, not SHA-256. */
static const struct cmd *cmd_big(struct cmd *c, uint32_t len)
{
    uint32_t data = len - 10 - 2 - 2 - 4;

    begin(c, TPM_ST_NO_SESSIONS, TPM_CC_Hash);
    put16(c, (uint16_t)data);
    for (uint32_t i = 0; i < data; i++)
        c->b[c->len++] = (uint8_t)i;
    put16(c, TPM_ALG_SHA256);
    put32(c, TPM_RH_NULL);
    return end(c);
}

static int add(struct vmm *vm, const struct cmd *c, uint32_t repeat,
               uint32_t flags)
{
    return vmm_add_transmit(vm, 0, c->b, c->len, repeat, flags);
}

static uint32_t rc_of(const uint8_t *rsp)
{
    return (uint32_t)rsp[6] << 24 | (uint32_t)rsp[7] << 16 |
           (uint32_t)rsp[8] << 8 | rsp[9];
}

/* ------------------------------------------------------------ demo */

static void hex(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static void show_job(struct vmm *vm, unsigned i, const char *name,
                     const struct vmm_job_report *r)
{
    const struct abi_job *j = vmm_job(vm, i);
    const uint8_t *rsp = vmm_response(vm, i);

    printf("%-16s", name);
    if (j->status != ABI_OK)
        printf(" guest error %u", j->status);
    else
        printf(" rc 0x%03x, %u-byte response", rc_of(rsp), j->rsp_len);
    printf(", %u us; exits: %llu read, %llu register write, %llu data\n",
           (unsigned)(r->ns / 1000), (unsigned long long)r->exits.reg_read,
           (unsigned long long)r->exits.reg_write,
           (unsigned long long)(r->exits.data_read + r->exits.data_write));
}

static int demo(struct vmm *vm)
{
    static const char *names[] = { "TPM2_Startup", "TPM2_GetRandom",
                                   "TPM2_PCR_Extend", "TPM2_PCR_Read" };
    struct vmm_job_report r[4];
    uint8_t digest[32];
    struct cmd c;
    int err;

    for (unsigned i = 0; i < sizeof(digest); i++)
        digest[i] = (uint8_t)i;
    add(vm, cmd_startup(&c), 1, 0);
    add(vm, cmd_getrandom(&c, 16), 1, 0);
    add(vm, cmd_pcr_extend(&c, DEMO_PCR, digest), 1, 0);
    add(vm, cmd_pcr_read(&c, DEMO_PCR), 1, 0);
    if ((err = vmm_run(vm, r)) < 0)
        return err;
    for (unsigned i = 0; i < 4; i++)
        show_job(vm, i, names[i], &r[i]);
    if (vmm_job(vm, 1)->rsp_len == 10 + 2 + 16) {
        printf("random bytes: ");
        hex(vmm_response(vm, 1) + 12, 16);
        printf("\n");
    }
    if (vmm_job(vm, 3)->rsp_len >= 32) {
        printf("PCR %u (sha256): ", DEMO_PCR);
        hex(vmm_response(vm, 3) + vmm_job(vm, 3)->rsp_len - 32, 32);
        printf("\n");
    }
    return 0;
}

/* ------------------------------------------------------------ bench */

static const char *mapping_name(const struct opts *o)
{
    return o->vmm.mapping == VMM_MAP_TRAP ? "trap" : "rom";
}

static void stat_line(const struct opts *o, struct vmm *vm, int job,
                      const char *cmd, uint32_t bytes, const char *timing,
                      const struct vmm_job_report *r)
{
    const struct abi_job *j = vmm_job(vm, (unsigned)job);
    double n = j->repeat;

    printf("STAT mapping=%s layout=%s bound=%u cmd=%s bytes=%u timing=%s "
           "n=%u rc=%#x us=%.2f reg_read=%.2f reg_write=%.2f data_read=%.2f "
           "data_write=%.2f port=%.2f ready_first=%u sleeps=%llu\n",
           mapping_name(o),
           o->vmm.dev.layout == TPMCRB_LAYOUT_SPLIT ? "split" : "compat",
           o->vmm.dev.sync_bound_us, cmd, bytes, timing, j->repeat,
           rc_of(vmm_response(vm, (unsigned)job)), r->ns / 1e3 / n,
           r->exits.reg_read / n, r->exits.reg_write / n,
           r->exits.data_read / n, r->exits.data_write / n,
           r->exits.port / n, j->ready_first,
           (unsigned long long)r->exits.sleeps);
}

static int bench(struct vmm *vm, const struct opts *o)
{
    struct vmm_job_report r[6];
    struct cmd small, big, c;
    int jobs[4];
    int err;

    cmd_getrandom(&small, 32);
    cmd_big(&big, o->big);
    add(vm, cmd_startup(&c), 1, 0);
    add(vm, &small, WARMUP, 0);
    jobs[0] = add(vm, &small, o->bench, 0);
    jobs[1] = add(vm, &big, o->big_count, 0);
    jobs[2] = add(vm, &small, o->bench, ABI_F_LINUX_TIMING);
    jobs[3] = add(vm, &big, o->big_count, ABI_F_LINUX_TIMING);
    if ((err = vmm_run(vm, r)) < 0)
        return err;
    for (unsigned i = 0; i < 6; i++)
        if (vmm_job(vm, i)->status != ABI_OK) {
            fprintf(stderr, "kvm-vmm: job %u failed in the guest (%u)\n", i,
                    vmm_job(vm, i)->status);
            return -EPROTO;
        }
    for (unsigned i = 0; i < 4; i++)
        stat_line(o, vm, jobs[i], i % 2 ? "big" : "small",
                  i % 2 ? big.len : small.len, i < 2 ? "poll" : "linux",
                  &r[jobs[i]]);
    return 0;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tpmcrb-kvm-vmm [OPTIONS]\n"
        "  --mapping rom|trap    register pages read-only (writes exit) or\n"
        "                        fully trapped (default rom)\n"
        "  --layout split|compat command buffer in its own RAM page or in\n"
        "                        the register page at 0x80 (default split)\n"
        "  --base ADDR           device base below 4 GiB (default 0xFED40000)\n"
        "  --localities 1|5      (default 5)\n"
        "  --bound US            synchronous completion bound (default 500)\n"
        "  --bench N             N commands per measurement; STAT lines\n"
        "  --big BYTES           large command size for --bench (default 3968)\n"
        "  --big-count N         large commands per measurement (default: --bench)\n"
        "  --trace               log register accesses and TPM commands\n"
        "  --quiet               do not echo the guest's console\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "mapping", required_argument, NULL, 'm' },
        { "layout", required_argument, NULL, 'l' },
        { "base", required_argument, NULL, 'a' },
        { "localities", required_argument, NULL, 'L' },
        { "bound", required_argument, NULL, 'b' },
        { "bench", required_argument, NULL, 'n' },
        { "big", required_argument, NULL, 'B' },
        { "big-count", required_argument, NULL, 'c' },
        { "trace", no_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (strcmp(optarg, "rom") && strcmp(optarg, "trap"))
                return -1;
            o->vmm.mapping = strcmp(optarg, "rom") ? VMM_MAP_TRAP : VMM_MAP_ROM;
            break;
        case 'l':
            if (strcmp(optarg, "split") && strcmp(optarg, "compat"))
                return -1;
            o->vmm.dev.layout = strcmp(optarg, "split") ? TPMCRB_LAYOUT_COMPAT
                                                        : TPMCRB_LAYOUT_SPLIT;
            break;
        case 'a': o->vmm.dev.base = strtoull(optarg, NULL, 0); break;
        case 'L': o->vmm.dev.localities = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'b': o->vmm.dev.sync_bound_us = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'n': o->bench = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'B': o->big = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'c': o->big_count = (unsigned)strtoul(optarg, NULL, 0); break;
        case 't': tpmcrb_log_set(TPMCRB_LOG_TRACE, NULL, NULL); break;
        case 'q': o->vmm.quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc || o->big < 18 || o->big > TPMCRB_PAGE_SIZE)
        return -1;
    if (!o->big_count)
        o->big_count = o->bench;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = { .big = TPMCRB_COMPAT_BUFFER_SIZE };
    struct tpmcrb_backend *be;
    struct vmm *vm;
    int err;

    tpmcrb_config_init(&o.vmm.dev);
    if (parse(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    if (tpmcrb_backend_open("libtpms", NULL, &be) < 0)
        return 1;
    o.vmm.be = be;
    err = vmm_create(&o.vmm, &vm);
    if (err == 0) {
        err = o.bench ? bench(vm, &o) : demo(vm);
        vmm_destroy(vm);
    }
    tpmcrb_backend_close(be);
    /* 77: KVM is not there, which is not this program's failure. */
    if (err == -ENOENT || err == -EACCES || err == -ENODEV)
        return 77;
    return err < 0 ? 1 : 0;
}
