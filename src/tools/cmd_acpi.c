/* SPDX-License-Identifier: BSD-3-Clause */
/* tpmcrb acpi: write the TPM2 table and the SSDT that describe a device. */
#include "tools/commands.h"
#include "tpmcrb.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb acpi --base ADDR [--layout split|compat] [--localities 1|5]\n"
"                   [--start-method 7|8] [--log-size N --log-addr ADDR]\n"
"                   [--oem-id S] [--oem-table-id S] [--oem-revision N] -o DIR\n"
"\n"
"Writes DIR/tpm2.aml (TPM2 table, revision 4) and DIR/ssdt.aml (the TPM\n"
"device under \\_SB) for a device whose locality 0 is at ADDR. Add them to\n"
"QEMU with -acpitable file=DIR/ssdt.aml -acpitable file=DIR/tpm2.aml.\n"
"\n"
"  --base ADDR          guest-physical base, 4 KiB aligned, window below\n"
"                       4 GiB (x86: 0xFED40000)\n"
"  --layout L           split: command buffer in its own page after the\n"
"                       registers (default); compat: in-page buffer at 0x80\n"
"  --localities N       1 (locality 0 only) or 5 (default)\n"
"  --start-method M     7 = CRB (default; trap mode, firmware);\n"
"                       8 = CRB with ACPI start (adds a _DSM; poll mode)\n"
"  --log-size N         TPM2 log area minimum length (LAML) and ...\n"
"  --log-addr ADDR      ... its address (LASA); both or neither\n"
"  --oem-id S           up to 6 characters (default TPMCRB)\n"
"  --oem-table-id S     up to 8 characters (default TPMCRB)\n"
"  --oem-revision N     default 1\n"
"  -o, --output DIR     where to write (created if missing)\n"
"\n"
"Numbers are decimal or 0x-prefixed hex. Exit status: 0 ok, 1 error,\n"
"2 usage error.\n");
}

/* Decimal or 0x-prefixed hex, nothing else (no sign, no octal surprise). */
static bool parse_u64(const char *s, uint64_t *out)
{
    const char *digits = "0123456789";
    int base = 10;
    char *end;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        digits = "0123456789abcdefABCDEF";
        base = 16;
        s += 2;
    }
    if (!*s || s[strspn(s, digits)])
        return false;
    errno = 0;
    *out = strtoull(s, &end, base);
    return !errno && !*end;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;

    if (!parse_u64(s, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tpmcrb acpi: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'tpmcrb acpi --help')\n");
    return EXIT_USAGE;
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const uint8_t *data,
                      size_t len)
{
    char path[4096];
    int fd, rc, n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "tpmcrb acpi: path too long: %s/%s\n", dir, name);
        return -ENAMETOOLONG;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
    } else {
        rc = write_all(fd, data, len);
        if (close(fd) < 0 && !rc)
            rc = -errno;
    }
    if (rc) {
        fprintf(stderr, "tpmcrb acpi: %s: %s\n", path, strerror(-rc));
        return rc;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int write_tables(const struct tpmcrb_acpi_options *o, const char *dir)
{
    uint8_t *tpm2, *ssdt;
    size_t tpm2_len, ssdt_len;
    int rc = tpmcrb_acpi_build(o, &tpm2, &tpm2_len, &ssdt, &ssdt_len);

    if (rc)
        /* -EINVAL: the options were wrong; the library said which one. */
        return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        fprintf(stderr, "tpmcrb acpi: %s: %s\n", dir, strerror(-rc));
    }
    if (!rc)
        rc = write_file(dir, "tpm2.aml", tpm2, tpm2_len);
    if (!rc)
        rc = write_file(dir, "ssdt.aml", ssdt, ssdt_len);
    free(tpm2);
    free(ssdt);
    return rc ? EXIT_RUNTIME : EXIT_OK;
}

enum {
    OPT_BASE = 256, OPT_LAYOUT, OPT_LOCALITIES, OPT_START_METHOD,
    OPT_LOG_SIZE, OPT_LOG_ADDR, OPT_OEM_ID, OPT_OEM_TABLE_ID, OPT_OEM_REV,
};

static const struct option long_opts[] = {
    { "base",         required_argument, NULL, OPT_BASE },
    { "layout",       required_argument, NULL, OPT_LAYOUT },
    { "localities",   required_argument, NULL, OPT_LOCALITIES },
    { "start-method", required_argument, NULL, OPT_START_METHOD },
    { "log-size",     required_argument, NULL, OPT_LOG_SIZE },
    { "log-addr",     required_argument, NULL, OPT_LOG_ADDR },
    { "oem-id",       required_argument, NULL, OPT_OEM_ID },
    { "oem-table-id", required_argument, NULL, OPT_OEM_TABLE_ID },
    { "oem-revision", required_argument, NULL, OPT_OEM_REV },
    { "output",       required_argument, NULL, 'o' },
    { "help",         no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct acpi_args {
    struct tpmcrb_acpi_options o;
    const char *dir;
    bool have_base, have_log_size, have_log_addr;
};

/* One option into @args; returns 0 or an exit code. */
static int apply_option(struct acpi_args *args, int opt, const char *arg)
{
    struct tpmcrb_acpi_options *o = &args->o;
    uint32_t u32;

    switch (opt) {
    case OPT_BASE:
        args->have_base = true;
        return parse_u64(arg, &o->base) ? 0 : usage_error("bad address '%s'", arg);
    case OPT_LAYOUT:
        if (!strcmp(arg, "split"))
            o->layout = TPMCRB_LAYOUT_SPLIT;
        else if (!strcmp(arg, "compat"))
            o->layout = TPMCRB_LAYOUT_COMPAT;
        else
            return usage_error("layout must be split or compat, not '%s'", arg);
        return 0;
    case OPT_LOCALITIES:
        if (!parse_u32(arg, &u32) || (u32 != 1 && u32 != 5))
            return usage_error("localities must be 1 or 5, not '%s'", arg);
        o->localities = u32;
        return 0;
    case OPT_START_METHOD:
        if (!parse_u32(arg, &u32) || (u32 != 7 && u32 != 8))
            return usage_error("start method must be 7 or 8, not '%s'", arg);
        o->start_method = u32;
        return 0;
    case OPT_LOG_SIZE:
        args->have_log_size = true;
        if (!parse_u32(arg, &o->log_area_min_len) || !o->log_area_min_len)
            return usage_error("bad log size '%s'", arg);
        return 0;
    case OPT_LOG_ADDR:
        args->have_log_addr = true;
        if (!parse_u64(arg, &o->log_area_addr) || !o->log_area_addr)
            return usage_error("bad log address '%s'", arg);
        return 0;
    case OPT_OEM_ID:
        if (strlen(arg) >= sizeof(o->oem_id))
            return usage_error("OEM ID '%s' is longer than 6 characters", arg);
        strcpy(o->oem_id, arg);
        return 0;
    case OPT_OEM_TABLE_ID:
        if (strlen(arg) >= sizeof(o->oem_table_id))
            return usage_error("OEM table ID '%s' is longer than 8 characters", arg);
        strcpy(o->oem_table_id, arg);
        return 0;
    case OPT_OEM_REV:
        return parse_u32(arg, &o->oem_revision) ? 0
               : usage_error("bad OEM revision '%s'", arg);
    case 'o':
        args->dir = arg;
        return 0;
    default: /* getopt has printed what was wrong */
        return usage_error("bad option");
    }
}

int cmd_acpi(int argc, char **argv)
{
    struct acpi_args args = { .dir = NULL };
    int opt, rc;

    tpmcrb_acpi_options_init(&args.o);
    while ((opt = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        rc = apply_option(&args, opt, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!args.have_base)
        return usage_error("--base is required");
    if (!args.dir)
        return usage_error("-o DIR is required");
    if (args.have_log_size != args.have_log_addr)
        return usage_error("--log-size and --log-addr go together");
    return write_tables(&args.o, args.dir);
}
