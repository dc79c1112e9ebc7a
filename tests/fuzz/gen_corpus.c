/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writes the seed corpus of the fuzz targets: gen-corpus DIR makes
 * DIR/regs, DIR/snapshot and DIR/tpm_cmd. The seeds are the sequences the
 * real clients use (Linux, EDK2, SeaBIOS: docs/design.md, "The register
 * interface") on every
 * transport and configuration, snapshots of devices in interesting states,
 * QEMU pages, and TPM commands with good and bad headers. The committed
 * corpus is this program's output plus what fuzzing found.
 */
#include "counter_backend.h"
#include "core/regs.h"
#include "util/tpm_cmd.h"
#include "tpm_commands.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE TPMCRB_PAGE_SIZE

static const char *out_dir;

static void write_seed(const char *target, const char *name,
                       const uint8_t *p, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    if (!(f = fopen(path, "wb")) || fwrite(p, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* ------------------------------------------------------------ regs */

/* An operation list in fuzz_regs.c's encoding. */
struct ops {
    uint8_t b[4096];
    size_t len;
};

static void put(struct ops *o, const void *p, size_t n)
{
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void put8(struct ops *o, uint8_t v) { put(o, &v, 1); }

static void put_le(struct ops *o, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        put8(o, (uint8_t)(v >> (8 * i)));
}

/* The smallest op byte with kind @kind (op % 10) and @bits set. */
static uint8_t op_byte(unsigned kind, uint8_t bits, uint8_t mask)
{
    for (unsigned op = 0; op < 256; op++)
        if (op % 10 == kind && (op & mask) == bits)
            return (uint8_t)op;
    abort();
}

static void reg(struct ops *o, unsigned loc, uint32_t r, uint32_t v)
{
    put8(o, 2);
    put8(o, (uint8_t)loc);
    put8(o, (uint8_t)(r / 4));
    put_le(o, v, 4);
}

static void raw(struct ops *o, uint16_t off, unsigned size_sel, uint64_t v)
{
    put8(o, op_byte(0, (uint8_t)(size_sel << 4), 0x30));
    put_le(o, off, 2);
    put_le(o, v, 8);
}

static void header(struct ops *o, unsigned loc, uint32_t size, uint32_t code)
{
    put8(o, 5);
    put8(o, (uint8_t)loc);
    put8(o, 0);
    put_le(o, size, 4);
    put_le(o, code, 4);
    put_le(o, 0x20, 4);
    put_le(o, 0, 2);
}

static void op(struct ops *o, unsigned kind) { put8(o, (uint8_t)kind); }

static void linux_command(struct ops *o, unsigned loc)
{
    reg(o, loc, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    reg(o, loc, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    reg(o, loc, CRB_CTRL_CANCEL, 0);
    header(o, loc, 12, TPM_CC_GetRandom);
    reg(o, loc, CRB_CTRL_START, 1);
    op(o, 6);
    reg(o, loc, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    reg(o, loc, CRB_LOC_CTRL, LOC_CTRL_RELINQUISH);
}

static void edk2_command(struct ops *o)
{
    const uint32_t buf = (uint32_t)(TPMCRB_X86_BASE + CRB_DATA_BUFFER);
    uint8_t cmd[16];
    uint32_t len = tc_get_random(cmd, 8);

    reg(o, 0, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    reg(o, 0, CRB_CTRL_REQ, CTRL_REQ_GO_IDLE);
    reg(o, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
    reg(o, 0, CRB_CMD_HADDR, 0);
    reg(o, 0, CRB_CMD_LADDR, buf);
    reg(o, 0, CRB_CMD_SIZE, TPMCRB_COMPAT_BUFFER_SIZE);
    reg(o, 0, CRB_RSP_ADDR_HI, 0);
    reg(o, 0, CRB_RSP_ADDR_LO, buf);
    reg(o, 0, CRB_RSP_SIZE, TPMCRB_COMPAT_BUFFER_SIZE);
    for (uint32_t i = 0; i < len; i++)
        raw(o, (uint16_t)(CRB_DATA_BUFFER + i), 0, cmd[i]);
    reg(o, 0, CRB_CTRL_START, 1);
    op(o, 6);
    reg(o, 0, CRB_CTRL_CANCEL, 1);
    reg(o, 0, CRB_CTRL_CANCEL, 0);
}

static void seabios_command(struct ops *o)
{
    reg(o, 0, CRB_INTF_ID_LO, 0x00020000);
    reg(o, 0, CRB_INTF_ID_LO, 0x00080000);
    raw(o, CRB_LOC_CTRL, 0, LOC_CTRL_REQUEST);
    header(o, 0, 12, TPM_CC_Startup);
    reg(o, 0, CRB_CTRL_START, 1);        /* while idle */
    op(o, 6);
    reg(o, 0, CRB_CTRL_REQ, CTRL_REQ_CMD_READY);
}

static void localities(struct ops *o)
{
    reg(o, 0, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    reg(o, 4, CRB_LOC_CTRL, LOC_CTRL_SEIZE);
    reg(o, 2, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    reg(o, 3, CRB_LOC_CTRL, LOC_CTRL_RESET_EST);
    reg(o, 4, CRB_LOC_CTRL, LOC_CTRL_RESET_EST | LOC_CTRL_RELINQUISH);
    reg(o, 2, CRB_INT_ENABLE, INT_GLOBAL_ENABLE | INT_ALL);
    reg(o, 2, CRB_INT_STS, INT_LOC_CHANGE);
    raw(o, 0x2000 + CRB_LOC_CTRL, 3, 0x0000000200000002ull);
}

static void paused_snapshot(struct ops *o)
{
    op(o, 7);                             /* pause */
    reg(o, 0, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    header(o, 0, 12, TPM_CC_GetRandom);
    reg(o, 0, CRB_CTRL_START, 1);         /* held */
    op(o, 8);                             /* snapshot round trip */
    op(o, 7);                             /* resume */
    op(o, 6);
    put8(o, op_byte(8, 0x80, 0x80));      /* QEMU round trip */
    op(o, 9);                             /* reset */
}

static void bad_sizes(struct ops *o)
{
    static const uint32_t sizes[] = { 0, 9, 10, 4096, 4097, 0xF80, 0xF81,
                                      0xFFFFFFFF };

    reg(o, 1, CRB_LOC_CTRL, LOC_CTRL_REQUEST);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        header(o, 1, sizes[i], TPM_CC_GetRandom);
        reg(o, 1, CRB_CTRL_START, 1);
        op(o, 6);
    }
    reg(o, 1, CRB_CMD_SIZE, 5);
    reg(o, 1, CRB_CTRL_START, 1);
    raw(o, 0x1000 + CRB_CTRL_START - 1, 3, 0xFFFFFFFFFFFFFFFFull);
    put8(o, 4);
    put_le(o, 0x4FFC, 2);
    put8(o, 8);
}

static void regs_seeds(void)
{
    static const char *const tnames[] = { "rom", "trap", "poll" };
    void (*const flows[])(struct ops *) = {
        NULL, edk2_command, seabios_command, localities, paused_snapshot,
        bad_sizes,
    };
    static const char *const fnames[] = { "linux", "edk2", "seabios",
                                          "localities", "paused", "sizes" };
    char name[64];

    for (unsigned t = 0; t < 3; t++)
        for (unsigned cfg = 0; cfg < 4; cfg++)
            for (unsigned f = 0; f < 6; f++) {
                struct ops o = { .len = 0 };
                uint8_t config = (uint8_t)(t | cfg << 2);

                put8(&o, config);
                if (flows[f])
                    flows[f](&o);
                else
                    linux_command(&o, cfg & 2 ? 0 : 3);
                linux_command(&o, 0);
                op(&o, 8);
                snprintf(name, sizeof(name), "%s-%s-%s%u", fnames[f],
                         tnames[t], cfg & 1 ? "compat" : "split",
                         cfg & 2 ? 1 : 5);
                write_seed("regs", name, o.b, o.len);
            }
    /* Backend failure, asynchronous completion, slow backend. */
    for (unsigned extra = 1; extra < 8; extra++) {
        struct ops o = { .len = 0 };

        put8(&o, (uint8_t)(extra << 4));
        linux_command(&o, 0);
        linux_command(&o, 0);
        snprintf(name, sizeof(name), "backend-%u", extra);
        write_seed("regs", name, o.b, o.len);
    }
}

/* ------------------------------------------------------------ snapshot */

struct dev {
    struct counter_backend cb;
    struct tpmcrb_device *dev;
    struct tpmcrb_config cfg;
};

static void dev_open(struct dev *d, unsigned idx)
{
    counter_backend_init(&d->cb, true);
    tpmcrb_config_init(&d->cfg);
    d->cfg.layout = idx & 1 ? TPMCRB_LAYOUT_COMPAT : TPMCRB_LAYOUT_SPLIT;
    d->cfg.localities = idx & 2 ? 1 : 5;
    if (tpmcrb_device_new(&d->cfg, &d->cb.be, &d->dev) < 0)
        abort();
}

static void dev_command(struct dev *d, unsigned loc, uint32_t tag)
{
    uint8_t *buf = d->cfg.layout == TPMCRB_LAYOUT_SPLIT ?
                   tpmcrb_buffer_mem(d->dev) :
                   (uint8_t *)tpmcrb_regs_mem(d->dev) + loc * PAGE + CRB_DATA_BUFFER;

    tpmcrb_write(d->dev, loc * PAGE + CRB_LOC_CTRL, 4, LOC_CTRL_REQUEST);
    tpmcrb_write(d->dev, loc * PAGE + CRB_CTRL_REQ, 4, CTRL_REQ_CMD_READY);
    counter_command(buf, tag);
    tpmcrb_write(d->dev, loc * PAGE + CRB_CTRL_START, 4, 1);
    tpmcrb_wait_idle(d->dev, 1000);
}

static void snapshot_seed(struct dev *d, unsigned idx, const char *state)
{
    uint8_t *blob, *seed;
    size_t len;
    char name[64];

    if (tpmcrb_snapshot_save(d->dev, &blob, &len) < 0)
        abort();
    seed = malloc(len + 1);
    memcpy(seed + 1, blob, len);
    for (unsigned fix = 0; fix < 2; fix++) {
        seed[0] = (uint8_t)(idx | fix << 2);
        snprintf(name, sizeof(name), "%s-%u%s", state, idx, fix ? "-fix" : "");
        write_seed("snapshot", name, seed, len + 1);
    }
    free(seed);
    free(blob);
}

static void qemu_seed(struct dev *d, unsigned idx, const char *state)
{
    uint32_t regs[TPMCRB_QEMU_NUM_REGS];
    uint8_t seed[1 + PAGE];
    char name[64];

    if (tpmcrb_qemu_state_export(d->dev, regs, seed + 1 + CRB_DATA_BUFFER) < 0)
        return;
    for (unsigned i = 0; i < TPMCRB_QEMU_NUM_REGS; i++)
        for (unsigned b = 0; b < 4; b++)
            seed[1 + 4 * i + b] = (uint8_t)(regs[i] >> (8 * b));
    seed[0] = (uint8_t)(idx | 0x08);
    snprintf(name, sizeof(name), "qemu-%s-%u", state, idx);
    write_seed("snapshot", name, seed, sizeof(seed));
    /* The same page with START set: import runs the command. */
    seed[1 + CRB_CTRL_START] = 1;
    seed[1 + CRB_LOC_STATE] |= LOC_STATE_ASSIGNED;
    snprintf(name, sizeof(name), "qemu-%s-%u-start", state, idx);
    write_seed("snapshot", name, seed, sizeof(seed));
}

/* fuzz_snapshot.c's device-state form: the struct, then the buffers. */
static void state_seed(struct dev *d, unsigned idx, const char *state)
{
    struct tpmcrb_device_state st = TPMCRB_DEVICE_STATE_INIT;
    uint32_t blen = tpmcrb_state_buffers_size(&d->cfg);
    uint8_t *seed = calloc(1, 1 + sizeof(st) + blen);
    char name[64];

    if (!seed || tpmcrb_device_state_export(d->dev, &st, seed + 1 + sizeof(st),
                                            blen) < 0)
        abort();
    seed[0] = (uint8_t)(idx | 0x20);
    memcpy(seed + 1, &st, sizeof(st));
    snprintf(name, sizeof(name), "state-%s-%u", state, idx);
    write_seed("snapshot", name, seed, 1 + sizeof(st) + blen);
    free(seed);
}

static void snapshot_seeds(void)
{
    for (unsigned idx = 0; idx < 4; idx++) {
        struct dev d;

        dev_open(&d, idx);
        snapshot_seed(&d, idx, "reset");
        qemu_seed(&d, idx, "reset");
        state_seed(&d, idx, "reset");
        dev_command(&d, 0, 1);
        snapshot_seed(&d, idx, "command");
        qemu_seed(&d, idx, "command");
        state_seed(&d, idx, "command");
        if (idx < 2) {
            tpmcrb_write(d.dev, 4 * PAGE + CRB_LOC_CTRL, 4, LOC_CTRL_SEIZE);
            tpmcrb_write(d.dev, 2 * PAGE + CRB_LOC_CTRL, 4, LOC_CTRL_REQUEST);
            snapshot_seed(&d, idx, "seized");
            state_seed(&d, idx, "seized");
        }
        tpmcrb_device_pause(d.dev, 1000);
        dev_command(&d, idx < 2 ? 4 : 0, 2);
        snapshot_seed(&d, idx, "inflight");
        state_seed(&d, idx, "inflight");

        tpmcrb_device_resume(d.dev);
        tpmcrb_wait_idle(d.dev, 1000);
        d.cb.fail_exec = -5;
        dev_command(&d, idx < 2 ? 4 : 0, 3);
        snapshot_seed(&d, idx, "fatal");
        state_seed(&d, idx, "fatal");
        tpmcrb_device_free(d.dev);
        if (idx < 2) {
            /* A resetEstablishment written while a command is held. */
            dev_open(&d, idx);
            tpmcrb_device_pause(d.dev, 1000);
            dev_command(&d, 4, 4);
            tpmcrb_write(d.dev, 4 * PAGE + CRB_LOC_CTRL, 4, LOC_CTRL_RESET_EST);
            state_seed(&d, idx, "inflight-resetest");
            tpmcrb_device_free(d.dev);
        }
    }
}

/* ------------------------------------------------------------ tpm_cmd */

static void cmd_seed(const char *name, uint8_t flags, const uint8_t *regs16,
                     const uint8_t *cmd, uint32_t len)
{
    uint8_t seed[1 + 16 + 4096];
    size_t n = 0;

    seed[n++] = flags;
    if (flags & 0x08) {
        memcpy(seed + n, regs16, 16);
        n += 16;
    }
    memcpy(seed + n, cmd, len);
    write_seed("tpm_cmd", name, seed, n + len);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void tpm_cmd_seeds(void)
{
    uint8_t cmd[4096], regs16[16];
    uint32_t len;

    cmd_seed("getrandom", 0, NULL, cmd, tc_get_random(cmd, 32));
    cmd_seed("getcap", 1, NULL, cmd, tc_get_capability(cmd, 6, 0x100, 8));
    cmd_seed("pcrread", 2, NULL, cmd, tc_pcr_read(cmd, 0xFF));
    cmd_seed("pcrextend", 3, NULL, cmd, tc_pcr_extend(cmd, 16, 0xAB));
    cmd_seed("hashseq", 4, NULL, cmd, tc_hash_sequence_start(cmd));
    cmd_seed("flush", 0, NULL, cmd, tc_flush_context(cmd, 0x80000000));
    cmd_seed("startup-again", 0, NULL, cmd, tc_startup(cmd, TPM_SU_CLEAR));
    cmd_seed("selftest", 0, NULL, cmd, tc_self_test(cmd));
    len = tc_get_random(cmd, 32);
    tpm_put_be32(cmd + 2, 9);
    cmd_seed("size-9", 0, NULL, cmd, len);
    tpm_put_be32(cmd + 2, 0xFFFFFFFF);
    cmd_seed("size-max", 0, NULL, cmd, len);
    memset(cmd + len, 0, 4096 - len);
    tpm_put_be32(cmd + 2, 4096);
    cmd_seed("size-4096", 0, NULL, cmd, 4096);
    /* EDK2: the in-page buffer of locality 0, sizes from firmware. */
    le32(regs16, 1);                      /* cmd: in-page of locality 0 */
    le32(regs16 + 4, 1);                  /* rsp: the same */
    le32(regs16 + 8, TPMCRB_COMPAT_BUFFER_SIZE);
    le32(regs16 + 12, TPMCRB_COMPAT_BUFFER_SIZE);
    cmd_seed("edk2-inpage", 0x08, regs16, cmd, tc_get_random(cmd, 16));
    le32(regs16, 0x12345673);             /* an address naming nothing */
    le32(regs16 + 8, 20);
    le32(regs16 + 12, 12);                /* response larger than this */
    cmd_seed("odd-buffers", 0x08, regs16, cmd, tc_get_random(cmd, 48));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    regs_seeds();
    snapshot_seeds();
    tpm_cmd_seeds();
    return 0;
}
