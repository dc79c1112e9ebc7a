/* SPDX-License-Identifier: BSD-3-Clause */
/* tpmcrb acpi: write the TPM2 table and the SSDT that describe a device. */
#include "tools/tool.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    tool_log_usage(out);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    LOG_ERROR("%s (see 'tpmcrb acpi --help')", msg);
    return EXIT_USAGE;
}

enum {
    OPT_LOG_SIZE = 256, OPT_LOG_ADDR, OPT_OEM_ID, OPT_OEM_TABLE_ID, OPT_OEM_REV,
};

static const struct option long_opts[] = {
    DEVICE_OPTION_BASE,
    DEVICE_OPTIONS_INTERFACE,
    { "log-size",     required_argument, NULL, OPT_LOG_SIZE },
    { "log-addr",     required_argument, NULL, OPT_LOG_ADDR },
    { "oem-id",       required_argument, NULL, OPT_OEM_ID },
    { "oem-table-id", required_argument, NULL, OPT_OEM_TABLE_ID },
    { "oem-revision", required_argument, NULL, OPT_OEM_REV },
    { "output",       required_argument, NULL, 'o' },
    { "help",         no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The device options go into the tables' options once all are read. */
struct acpi_args {
    struct device_options dev;
    struct tpmcrb_acpi_options o;
    const char *dir;
    bool have_log_size, have_log_addr;
};

/* One option into @args; returns 0 or an exit code. */
static int apply_option(struct acpi_args *args, int opt, const char *arg)
{
    struct tpmcrb_acpi_options *o = &args->o;

    switch (device_option_apply(&args->dev, opt, arg)) {
    case DEVOPT_OK:
        return 0;
    case DEVOPT_BAD:
        return usage_error("%s, not '%s'", device_option_rule(opt), arg);
    case DEVOPT_NOT_MINE:
        break;
    }
    switch (opt) {
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
    device_options_init(&args.dev);
    args.dev.start_method = args.o.start_method; /* the tables' default */
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
    if (!args.dev.base_given)
        return usage_error("--base is required");
    if (!args.dir)
        return usage_error("-o DIR is required");
    if (args.have_log_size != args.have_log_addr)
        return usage_error("--log-size and --log-addr go together");
    device_options_acpi(&args.dev, &args.o);
    return acpi_write_tables(&args.o, args.dir, true);
}
