/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tpmcrb state: decode a device snapshot (or a QEMU tpm-crb page) and
 * convert between the two. Files are read into a scratch core with the
 * library's own loader, so what is printed is what a device would get.
 */
#include "tools/state/cmd_state.h"
#include "tools/tool.h"
#include "core/regs.h"
#include "core/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAX_FILE (256u << 20)

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb state inspect FILE [--json]\n"
"       tpmcrb state convert --to qemu [--backend-out FILE] IN OUT\n"
"       tpmcrb state convert --to tpmcrb [--base ADDR] [--localities 1|5]\n"
"                            IN OUT\n"
"       tpmcrb state import-swtpm --from SWTPMDIR --state DIR [--overwrite]\n"
"       tpmcrb state export-swtpm --state DIR --to SWTPMDIR [--overwrite]\n"
"       (both: [--key SPEC] [--swtpm-key SPEC])\n"
"\n"
"inspect   prints a snapshot's sections, configuration, core state, every\n"
"          locality's registers (decoded), the buffers and the backend\n"
"          state; a 4096-byte file is read as a QEMU tpm-crb page.\n"
"convert   --to qemu: snapshot -> QEMU tpm-crb page (4096 bytes: the 32\n"
"          register dwords at 0x00..0x7F, little-endian, then the\n"
"          3968-byte command buffer). Needs the compat layout, locality 0\n"
"          or none active and no command in flight. The backend state is\n"
"          not part of QEMU's device state: --backend-out writes it.\n"
"          --to tpmcrb: QEMU page -> snapshot of a compat-layout device\n"
"          without backend state (loading it keeps the backend's own).\n"
"          The base defaults to the page's CMD address minus 0x80.\n"
"import-swtpm  swtpm's tpm2-00.permall (and tpm2-00.volatilestate, when\n"
"          present) become the TPM of DIR: same EK, NV and, with the\n"
"          volatile state, PCRs. DIR must be new or empty (--overwrite\n"
"          replaces a TPM there).\n"
"export-swtpm  the TPM of DIR as swtpm state files in SWTPMDIR.\n"
"--key file=PATH[,format=hex|binary]  tpmcrb's state files are encrypted\n"
"          with this 256-bit key (AES-256-GCM); with inspect and convert,\n"
"          the snapshot files are. --swtpm-key: the key of swtpm's files\n"
"          (swtpm --key; default: --key).\n"
"\n"
"Exit status: 0 ok, 1 error (the reason is printed), 2 usage error.\n");
    tool_log_usage(out);
}

static int usage_error(const char *msg)
{
    LOG_ERROR("%s", msg);
    usage(stderr);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------ files */

/* --key: snapshots and pages are read and written sealed with it. */
static struct state_key snap_key;
static bool have_snap_key;

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    /* A plain input is fine: --key seals what is written. */
    return sealed_file_read(have_snap_key ? &snap_key : NULL, path, MAX_FILE,
                            true, out, len);
}

/* Outputs carry the TPM's secrets (seeds in the backend state): 0600,
 * written atomically, never through a symlink (file_io.h). */
static int write_file(const char *path, const void *p, size_t len)
{
    return sealed_file_write(have_snap_key ? &snap_key : NULL, path, p, len);
}

/* Take "--key SPEC" out of argv (any position after the subcommand). */
static int take_key(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        const char *spec = NULL;
        int drop = 0;

        if (!strcmp(argv[i], "--key") && i + 1 < *argc) {
            spec = argv[i + 1];
            drop = 2;
        } else if (!strncmp(argv[i], "--key=", 6)) {
            spec = argv[i] + 6;
            drop = 1;
        }
        if (!spec)
            continue;
        if (state_key_load(spec, &snap_key) < 0)
            return -1;
        have_snap_key = true;
        memmove(&argv[i], &argv[i + drop],
                (size_t)(*argc - i - drop + 1) * sizeof(*argv));
        *argc -= drop;
        i--;
    }
    return 0;
}

/* ------------------------------------------------------------ QEMU page */

static void page_to_regs(const uint8_t *page, uint32_t *regs)
{
    for (unsigned i = 0; i < QEMU_CRB_NUM_REGS; i++) {
        const uint8_t *p = page + 4 * i;

        regs[i] = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24;
    }
}

static void regs_to_page(const uint32_t *regs, const uint8_t *buffer,
                         uint8_t *page)
{
    for (unsigned i = 0; i < QEMU_CRB_NUM_REGS; i++)
        for (unsigned b = 0; b < 4; b++)
            page[4 * i + b] = (uint8_t)(regs[i] >> (8 * b));
    memcpy(page + TPMCRB_COMPAT_BUFFER_OFFSET, buffer,
           TPMCRB_COMPAT_BUFFER_SIZE);
}

/* QEMU's guest found its buffer at base + 0x80. */
static uint64_t page_base(const uint32_t *regs)
{
    uint64_t cmd = regs[CRB_CMD_LADDR / 4] |
                   (uint64_t)regs[CRB_CMD_HADDR / 4] << 32;

    if (cmd >= TPMCRB_COMPAT_BUFFER_OFFSET &&
        (cmd - TPMCRB_COMPAT_BUFFER_OFFSET) % TPMCRB_PAGE_SIZE == 0)
        return cmd - TPMCRB_COMPAT_BUFFER_OFFSET;
    return TPMCRB_X86_BASE;
}

/* ------------------------------------------------------------ loading */

struct loaded {
    bool snapshot;             /* else a QEMU page */
    struct snap_view v;
    struct crb_core core;      /* scratch core holding the decoded state */
};

static int load_snapshot(const uint8_t *data, size_t len, struct loaded *l)
{
    int err = snap_parse(data, len, &l->v);

    if (err < 0)
        return err;
    if ((err = snap_scratch_init(&l->core, l->v.base, l->v.layout,
                                 l->v.nloc)) < 0)
        return err;
    snap_apply(&l->core, &l->v);
    l->snapshot = true;
    return 0;
}

static int load_page(const uint8_t *data, uint64_t base, unsigned nloc,
                     struct loaded *l)
{
    uint32_t regs[QEMU_CRB_NUM_REGS];
    int err;

    page_to_regs(data, regs);
    if (base == UINT64_MAX)
        base = page_base(regs);
    if ((err = snap_scratch_init(&l->core, base, TPMCRB_LAYOUT_COMPAT,
                                 nloc)) < 0)
        return err;
    if ((err = qemu_check_import(&l->core, regs)) < 0) {
        snap_scratch_free(&l->core);
        return err;
    }
    qemu_import(&l->core, regs, data + TPMCRB_COMPAT_BUFFER_OFFSET);
    return 0;
}

static bool is_snapshot(const uint8_t *data, size_t len)
{
    return len >= SNAP_MAGIC_LEN && !memcmp(data, SNAP_MAGIC, SNAP_MAGIC_LEN);
}

/* ------------------------------------------------------------ decoding */

/* The registers a guest can read something in, from the register table. */
static bool shown(unsigned i)
{
    return crb_regs[i].access != CRB_ACCESS_RESERVED &&
           crb_regs[i].access != CRB_ACCESS_WO;
}

/* What the first bytes of a buffer look like. */
static void describe_header(const uint8_t *p, char *out, size_t n)
{
    uint16_t tag = tpm_be16(p);
    const char *name = tpm_command_name(tpm_hdr_code(p));
    bool empty = true;

    for (unsigned i = 0; i < TPM_HEADER_SIZE; i++)
        empty &= p[i] == 0;
    if (empty)
        snprintf(out, n, "empty");
    else if (tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS)
        snprintf(out, n, "no TPM header");
    else
        snprintf(out, n, "tag %#x size %u code %#x%s%s%s", tag,
                 tpm_hdr_size(p), tpm_hdr_code(p), name ? " (" : "",
                 name ? name : "", name ? ")" : "");
}

/* The buffer at 0x80 of @loc's register page (the compat layout's). */
static const uint8_t *in_page_buffer(const struct crb_core *c, unsigned loc)
{
    return c->regs + (size_t)loc * TPMCRB_PAGE_SIZE + TPMCRB_COMPAT_BUFFER_OFFSET;
}

static const uint8_t *buffer_of(const struct crb_core *c, unsigned loc)
{
    if (c->layout == TPMCRB_LAYOUT_SPLIT)
        return c->buffer;
    return in_page_buffer(c, loc);
}

/* ------------------------------------------------------------ text */

static void text_sections(const struct snap_view *v)
{
    printf("tpmcrb snapshot, format %u, %zu bytes\nsections:\n", v->version,
           v->size);
    for (unsigned i = 0; i < SNAP_NSECTIONS; i++)
        printf("  %s %8u bytes  crc32 %08x ok\n", v->sec[i].id, v->sec[i].len,
               v->sec[i].crc);
}

static void text_core(const struct crb_core *c)
{
    char hdr[96];

    printf("configuration: base %#llx, %s layout, %u localit%s\n",
           (unsigned long long)c->base,
           device_layout_name(c->layout), c->nloc,
           c->nloc == 1 ? "y" : "ies");
    printf("core: active locality %d, %s, %s, established %s\n", c->active,
           c->idle ? "idle" : "ready", c->fatal ? "FATAL" : "no fatal error",
           c->established ? "yes" : "no");
    if (c->busy) {
        describe_header(crb_cmd_const(c), hdr, sizeof(hdr));
        printf("command in flight: locality %u, %u bytes, %s\n", c->busy_loc,
               c->cmd_len, hdr);
    } else {
        printf("command in flight: none\n");
    }
}

static void text_localities(const struct crb_core *c)
{
    char bits[96];

    for (unsigned loc = 0; loc < c->nloc; loc++) {
        printf("locality %u:%s%s\n", loc,
               c->loc[loc].requesting ? " requesting" : "",
               c->loc[loc].seized ? " seized" : "");
        for (unsigned i = 0; i < CRB_NUM_REGS; i++) {
            uint32_t v = c->image[loc][i];

            if (!shown(i))
                continue;
            crb_describe_reg(i * 4, v, bits, sizeof(bits));
            printf("  %-12s %08x%s%s\n", crb_regs[i].name, v,
                   bits[0] ? "  " : "", bits);
        }
    }
}

static void text_buffers(const struct crb_core *c)
{
    char hdr[96];

    if (c->layout == TPMCRB_LAYOUT_SPLIT) {
        describe_header(c->buffer, hdr, sizeof(hdr));
        printf("buffer page: %s\n", hdr);
    }
    for (unsigned loc = 0; loc < c->nloc; loc++) {
        describe_header(in_page_buffer(c, loc), hdr, sizeof(hdr));
        printf("in-page buffer %u: %s\n", loc, hdr);
    }
}

static void print_text(const struct loaded *l)
{
    if (l->snapshot)
        text_sections(&l->v);
    else
        printf("QEMU tpm-crb page (32 register dwords + 3968-byte buffer)\n");
    text_core(&l->core);
    text_localities(&l->core);
    text_buffers(&l->core);
    if (!l->snapshot)
        return;
    if (l->v.be_name[0])
        printf("backend: %s, %zu bytes of state\n", l->v.be_name, l->v.be_len);
    else
        printf("backend: no state (loading keeps the backend's own)\n");
}

/* ------------------------------------------------------------ JSON */

struct json {
    bool comma;
};

static void j_key(struct json *j, const char *key)
{
    if (j->comma)
        putchar(',');
    j->comma = false;
    if (key)
        printf("\"%s\":", key);
}

static void j_open(struct json *j, const char *key, char bracket)
{
    j_key(j, key);
    putchar(bracket);
}

static void j_close(struct json *j, char bracket)
{
    putchar(bracket);
    j->comma = true;
}

static void j_num(struct json *j, const char *key, long long v)
{
    j_key(j, key);
    printf("%lld", v);
    j->comma = true;
}

static void j_bool(struct json *j, const char *key, bool v)
{
    j_key(j, key);
    printf(v ? "true" : "false");
    j->comma = true;
}

static void j_null(struct json *j)
{
    printf("null");
    j->comma = true;
}

/* Strings here are our own names or checked-printable backend names. */
static void j_str(struct json *j, const char *key, const char *s)
{
    j_key(j, key);
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
    j->comma = true;
}

static void json_sections(struct json *j, const struct snap_view *v)
{
    j_num(j, "format", v->version);
    j_num(j, "size", (long long)v->size);
    j_open(j, "sections", '[');
    for (unsigned i = 0; i < SNAP_NSECTIONS; i++) {
        j_open(j, NULL, '{');
        j_str(j, "id", v->sec[i].id);
        j_num(j, "length", v->sec[i].len);
        j_num(j, "crc32", v->sec[i].crc);
        j_close(j, '}');
    }
    j_close(j, ']');
}

static void json_core(struct json *j, const struct crb_core *c)
{
    char hdr[96];

    j_open(j, "config", '{');
    j_num(j, "base", (long long)c->base);
    j_str(j, "layout", device_layout_name(c->layout));
    j_num(j, "localities", c->nloc);
    j_close(j, '}');
    j_open(j, "core", '{');
    j_num(j, "active_locality", c->active);
    j_bool(j, "idle", c->idle);
    j_bool(j, "fatal", c->fatal);
    j_bool(j, "established", c->established);
    j_key(j, "in_flight");
    if (c->busy) {
        j_open(j, NULL, '{');
        j_num(j, "locality", c->busy_loc);
        j_num(j, "length", c->cmd_len);
        j_num(j, "code", tpm_hdr_code(crb_cmd_const(c)));
        describe_header(crb_cmd_const(c), hdr, sizeof(hdr));
        j_str(j, "header", hdr);
        j_close(j, '}');
    } else {
        j_null(j);
    }
    j_close(j, '}');
}

static void json_localities(struct json *j, const struct crb_core *c)
{
    char hdr[96];

    j_open(j, "localities", '[');
    for (unsigned loc = 0; loc < c->nloc; loc++) {
        j_open(j, NULL, '{');
        j_num(j, "locality", loc);
        j_bool(j, "requesting", c->loc[loc].requesting);
        j_bool(j, "seized", c->loc[loc].seized);
        j_open(j, "registers", '{');
        for (unsigned i = 0; i < CRB_NUM_REGS; i++)
            if (shown(i))
                j_num(j, crb_regs[i].name, c->image[loc][i]);
        j_close(j, '}');
        describe_header(buffer_of(c, loc), hdr, sizeof(hdr));
        j_str(j, "buffer", hdr);
        j_close(j, '}');
    }
    j_close(j, ']');
}

static void print_json(const struct loaded *l)
{
    struct json j = { false };

    j_open(&j, NULL, '{');
    j_str(&j, "kind", l->snapshot ? "tpmcrb" : "qemu");
    if (l->snapshot)
        json_sections(&j, &l->v);
    json_core(&j, &l->core);
    json_localities(&j, &l->core);
    if (l->snapshot) {
        j_key(&j, "backend");
        if (l->v.be_name[0]) {
            j_open(&j, NULL, '{');
            j_str(&j, "name", l->v.be_name);
            j_num(&j, "length", (long long)l->v.be_len);
            j_close(&j, '}');
        } else {
            j_null(&j);
        }
    }
    j_close(&j, '}');
    putchar('\n');
}

/* ------------------------------------------------------------ commands */

static int inspect(int argc, char **argv)
{
    const char *path = NULL;
    struct loaded l = { 0 };
    bool json = false;
    uint8_t *data;
    size_t len;
    int err;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            return usage_error("inspect takes FILE and --json");
    }
    if (!path)
        return usage_error("inspect needs a FILE");
    if (read_file(path, &data, &len) < 0)
        return EXIT_RUNTIME;
    if (is_snapshot(data, len))
        err = load_snapshot(data, len, &l);
    else if (len == QEMU_CRB_PAGE_SIZE)
        err = load_page(data, UINT64_MAX, 1, &l);
    else {
        LOG_ERROR("%s is neither a tpmcrb snapshot nor a "
                "%u-byte QEMU tpm-crb page", path, QEMU_CRB_PAGE_SIZE);
        err = -EINVAL;
    }
    if (err == 0) {
        if (json)
            print_json(&l);
        else
            print_text(&l);
        snap_scratch_free(&l.core);
    }
    free(data);
    return err < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int to_qemu(const uint8_t *data, size_t len, const char *out,
                   const char *backend_out)
{
    uint32_t regs[QEMU_CRB_NUM_REGS];
    uint8_t buffer[TPMCRB_COMPAT_BUFFER_SIZE], page[QEMU_CRB_PAGE_SIZE];
    struct loaded l = { 0 };
    int err;

    if (!is_snapshot(data, len)) {
        LOG_ERROR("the input is not a tpmcrb snapshot");
        return -EINVAL;
    }
    if ((err = load_snapshot(data, len, &l)) < 0)
        return err;
    if ((err = qemu_check_export(&l.core)) == 0) {
        qemu_export(&l.core, regs, buffer);
        regs_to_page(regs, buffer, page);
        err = write_file(out, page, sizeof(page));
    }
    if (err == 0 && backend_out)
        err = write_file(backend_out, l.v.be_state, l.v.be_len);
    else if (err == 0 && l.v.be_name[0])
        LOG_WARN("the %s backend state (%zu bytes) "
                "is not part of QEMU's device state; --backend-out saves it",
                l.v.be_name, l.v.be_len);
    snap_scratch_free(&l.core);
    return err;
}

static int to_tpmcrb(const uint8_t *data, size_t len, const char *out,
                     uint64_t base, unsigned nloc)
{
    struct loaded l = { 0 };
    uint8_t *blob;
    size_t blob_len;
    int err;

    if (len != QEMU_CRB_PAGE_SIZE) {
        LOG_ERROR("a QEMU tpm-crb page has %u bytes, the "
                "input has %zu", QEMU_CRB_PAGE_SIZE, len);
        return -EINVAL;
    }
    if ((err = load_page(data, base, nloc, &l)) < 0)
        return err;
    err = snap_encode(&l.core, "", NULL, 0, &blob, &blob_len);
    if (err == 0) {
        err = write_file(out, blob, blob_len);
        free(blob);
    }
    snap_scratch_free(&l.core);
    return err;
}

static int convert(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 't' },
        DEVICE_OPTION_BASE,
        DEVICE_OPTION_LOCALITIES,
        { "backend-out", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    const char *to = NULL, *backend_out = NULL;
    struct device_options d;
    uint8_t *data;
    size_t len;
    int c, err;

    device_options_init(&d);
    d.localities = 1; /* what QEMU's tpm-crb has */
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        enum device_option_result r = device_option_apply(&d, c, optarg);

        if (r == DEVOPT_OK)
            continue;
        if (r == DEVOPT_NOT_MINE && c == 't')
            to = optarg;
        else if (r == DEVOPT_NOT_MINE && c == 'o')
            backend_out = optarg;
        else
            return usage_error("bad convert option");
    }
    if (!to || (strcmp(to, "qemu") && strcmp(to, "tpmcrb")))
        return usage_error("convert needs --to qemu or --to tpmcrb");
    if (argc - optind != 2)
        return usage_error("convert needs IN and OUT");
    if (read_file(argv[optind], &data, &len) < 0)
        return EXIT_RUNTIME;
    if (!strcmp(to, "qemu"))
        err = to_qemu(data, len, argv[optind + 1], backend_out);
    else
        /* Without --base, the page says where its buffer was. */
        err = to_tpmcrb(data, len, argv[optind + 1],
                        d.base_given ? d.base : UINT64_MAX, d.localities);
    free(data);
    return err < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_state(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing subcommand");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "inspect") || !strcmp(argv[1], "convert")) {
        if (take_key(&argc, argv) < 0)
            return EXIT_RUNTIME;
        return !strcmp(argv[1], "inspect") ? inspect(argc - 1, argv + 1)
                                           : convert(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "import-swtpm"))
        return state_swtpm(argc - 1, argv + 1, true);
    if (!strcmp(argv[1], "export-swtpm"))
        return state_swtpm(argc - 1, argv + 1, false);
    return usage_error("unknown subcommand");
}
