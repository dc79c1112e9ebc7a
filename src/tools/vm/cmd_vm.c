/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb vm`: a Linux guest under QEMU with a tpmcrb TPM. */
#include "tools/tool.h"
#include "tools/vm/vm.h"
#include "tools/vm/vm_arm64.h"
#include "tools/vm/vm_patched_qemu.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define SCRIPT_MAX (1u << 20)

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb vm [OPTIONS] [-- EXTRA QEMU ARGS]\n"
"Boot Linux under qemu-system-x86_64 with a TPM 2.0 CRB device served by\n"
"tpmcrb through guest RAM shared with QEMU (start method 8 by default).\n"
"\n"
"  --state DIR          keep the TPM state in DIR across runs\n"
"  --backend SPEC       libtpms (default), swtpm, passthrough:/dev/tpmrm0\n"
"  --key file=PATH[,format=hex|binary]  encrypt the state (AES-256-GCM;\n"
"                       with --device qemu-stock, swtpm's own --key)\n"
"  --kernel FILE        guest kernel (default: Debian's, fetched and cached)\n"
"  --initrd FILE        guest initramfs (default: busybox + tpm2-tools)\n"
"  --guest-script FILE  run FILE in the guest and exit with its status;\n"
"                       without it the guest gives a shell on the console\n"
"  --append ARGS        more kernel command line arguments\n"
"  --start-method 7|8   TPM2 table start method (default 8; 7 with\n"
"                       --device qemu)\n"
"  --layout split|compat  command buffer in its own page (default) or in\n"
"                       the register page at 0x80\n"
"  --localities 1|5     localities advertised (default 5)\n"
"  --memory MB          guest RAM (default 512)\n"
"  --device shm|qemu-stock  the tpmcrb device (default) or QEMU's own\n"
"                       tpm-crb with an swtpm child, for comparison\n"
"  --device qemu        trap mode: QEMU 10's -device tpm-crb (x86) or\n"
"                       tpm-crb-device (arm64 virt) on libtpmcrb, patched\n"
"                       by integrations/qemu (built and cached by\n"
"                       integrations/qemu/build-qemu on first use, or --qemu PATH)\n"
"  --qemu PATH          QEMU binary (default qemu-system-x86_64)\n"
"  --arch x86_64|aarch64  guest architecture (default x86_64); aarch64\n"
"                       runs on the virt machine with AAVMF and needs\n"
"                       --device qemu (scripts/guest/prepare-arm64.sh)\n"
"  --accel NAME         QEMU accelerator (default tcg)\n"
"  --trace              log decoded register accesses and TPM commands\n"
"\n"
"The default guest is prepared by guest/prepare.sh in tpmcrb's data folder\n"
"(PREFIX/share/tpmcrb, found from the executable; $TPMCRB_DATADIR or\n"
"$TPMCRB_GUEST_DIR override it) and cached in ${TPMCRB_CACHE:-~/.cache/tpmcrb}.\n");
    tool_log_usage(out);
}

static char *read_script(const char *path)
{
    FILE *f = fopen(path, "rbe");
    char *buf;
    size_t n;

    if (!f) {
        perror(path);
        return NULL;
    }
    buf = malloc(SCRIPT_MAX + 1);
    n = buf ? fread(buf, 1, SCRIPT_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n > SCRIPT_MAX) {
        LOG_ERROR("%s: %s", path,
                buf ? "larger than 1 MiB" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

enum {
    OPT_KERNEL = 256, OPT_INITRD, OPT_SCRIPT, OPT_APPEND, OPT_MEMORY,
    OPT_DEVICE, OPT_QEMU, OPT_ACCEL, OPT_HELP, OPT_ARCH,
};

static const struct option long_opts[] = {
    DEVICE_OPTIONS_BACKEND,
    DEVICE_OPTIONS_INTERFACE,
    { "kernel", required_argument, NULL, OPT_KERNEL },
    { "initrd", required_argument, NULL, OPT_INITRD },
    { "guest-script", required_argument, NULL, OPT_SCRIPT },
    { "append", required_argument, NULL, OPT_APPEND },
    { "memory", required_argument, NULL, OPT_MEMORY },
    { "device", required_argument, NULL, OPT_DEVICE },
    { "qemu", required_argument, NULL, OPT_QEMU },
    { "accel", required_argument, NULL, OPT_ACCEL },
    { "arch", required_argument, NULL, OPT_ARCH },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* One of the command's own options into @o; false on a bad value. */
static bool apply_option(struct vm_options *o, int opt, const char *arg,
                         const char **script_path)
{
    switch (opt) {
    case OPT_KERNEL:  o->kernel = arg; return true;
    case OPT_INITRD:  o->initrd = arg; return true;
    case OPT_SCRIPT:  *script_path = arg; return true;
    case OPT_APPEND:  o->append = arg; return true;
    case OPT_QEMU:    o->qemu = arg; return true;
    case OPT_ACCEL:   o->accel = arg; return true;
    case OPT_ARCH:
        return vm_arch_parse(arg, &o->arch);
    case OPT_MEMORY:
        /* Room for the kernel and initramfs; at most 64 GiB. */
        return parse_unsigned(arg, 128, 65536, &o->memory_mb);
    case OPT_DEVICE:
        if (!strcmp(arg, "shm"))
            o->device = VM_DEVICE_SHM;
        else if (!strcmp(arg, "qemu-stock"))
            o->device = VM_DEVICE_QEMU_STOCK;
        else if (!strcmp(arg, "qemu"))
            o->device = VM_DEVICE_QEMU_PATCHED;
        else
            return false;
        return true;
    default:
        return false;
    }
}

/* The process exit code for a finished run. */
static int exit_code(const struct vm_options *o, const struct vm_result *r)
{
    if (r->signal)
        return 128 + r->signal;
    if (!o->script)
        return WIFEXITED(r->qemu_status) && WEXITSTATUS(r->qemu_status) == 0
               ? EXIT_OK : EXIT_RUNTIME;
    if (r->guest_exit >= 0)
        return r->guest_exit & 0xFF;
    if (WIFSIGNALED(r->qemu_status))
        LOG_ERROR("QEMU died of signal %d",
                WTERMSIG(r->qemu_status));
    else
        LOG_ERROR("the guest reported no exit status "
                "(QEMU exited with %d)", WEXITSTATUS(r->qemu_status));
    return EXIT_RUNTIME;
}

/* The device options into @o. */
static void apply_device_options(struct vm_options *o,
                                 const struct device_options *d)
{
    o->state_dir = d->state_dir;
    o->key = d->key;
    o->backend = d->backend;
    o->start_method = d->start_method;
    o->layout = d->layout;
    o->localities = d->localities;
}

/* One option into @o or @d; false after saying what was wrong. */
static bool take_option(struct vm_options *o, struct device_options *d,
                        int opt, const char *arg, const char **script_path)
{
    enum device_option_result r = device_option_take(d, opt, arg);

    if (r != DEVOPT_NOT_MINE)
        return r == DEVOPT_OK;
    if (opt == '?') /* getopt has said what was wrong */
        return false;
    if (apply_option(o, opt, arg, script_path))
        return true;
    LOG_ERROR("bad value '%s'", arg);
    return false;
}

/* Options into @o; -1 to run, else the exit code. */
static int parse_args(int argc, char **argv, struct vm_options *o,
                      const char **script_path)
{
    struct device_options d;
    int opt;

    vm_options_init(o);
    device_options_init(&d);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
        if (opt == 'h' || opt == OPT_HELP) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!take_option(o, &d, opt, optarg, script_path)) {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    apply_device_options(o, &d);
    /* Trap mode answers within the START write: start method 7 needs no
     * ACPI _DSM per command and is what firmware expects. */
    if (o->device == VM_DEVICE_QEMU_PATCHED && !d.start_method_given)
        o->start_method = TPMCRB_START_METHOD_CRB;
    /* The patched tpm-crb is a drop-in for QEMU's: its layout unless asked. */
    if (o->device == VM_DEVICE_QEMU_PATCHED && !d.layout_given)
        o->layout = TPMCRB_LAYOUT_COMPAT;
    if (o->device == VM_DEVICE_QEMU_PATCHED && !d.localities_given)
        o->localities = 1;
    if (o->arch == VM_ARCH_AARCH64 &&
        vm_arm64_options(o, d.start_method_given) < 0)
        return EXIT_USAGE;
    o->extra_args = argv + optind;
    o->n_extra = argc - optind;
    return -1;
}

/* --key for swtpm: the same spec, with swtpm's mode for the key's length
 * when the user gave none (swtpm assumes a 128-bit key otherwise). The
 * key file is read here so that a bad one is named before anything runs. */
static char *swtpm_key_spec(const char *spec)
{
    struct state_key k;
    char *out;

    if (state_key_load(spec, &k) < 0)
        return NULL;
    if (strstr(spec, "mode="))
        out = strdup(spec);
    else if (asprintf(&out, "%s,mode=%s", spec,
                      k.len == 32 ? "aes-256-cbc" : "aes-cbc") < 0)
        out = NULL;
    memset(&k, 0, sizeof(k));
    return out;
}

int cmd_vm(int argc, char **argv)
{
    struct vm_options o;
    struct vm_result r;
    const char *script_path = NULL;
    char *script = NULL, *patched_qemu = NULL, *swtpm_key = NULL;
    int rc = parse_args(argc, argv, &o, &script_path);

    if (rc >= 0)
        return rc;
    if (o.device != VM_DEVICE_SHM && o.backend)
        LOG_ERROR("--backend is ignored with QEMU's devices (swtpm behind "
                  "-tpmdev emulator)");
    if (o.device == VM_DEVICE_SHM && state_key_use(o.key, o.backend) < 0)
        return EXIT_RUNTIME;
    /* QEMU's devices, stock and patched, run on a swtpm that takes the key
     * itself (same syntax). */
    if (o.device != VM_DEVICE_SHM && o.key &&
        !(o.key = swtpm_key = swtpm_key_spec(o.key)))
        return EXIT_RUNTIME;
    if (script_path && !(script = read_script(script_path))) {
        free(swtpm_key);
        return EXIT_USAGE;
    }
    o.script = script;
    if (o.device == VM_DEVICE_QEMU_PATCHED && !o.qemu &&
        !(o.qemu = patched_qemu = vm_patched_qemu_binary_arch(o.arch))) {
        free(script);
        return EXIT_RUNTIME;
    }
    rc = vm_run(&o, &r) < 0 ? (r.signal ? 128 + r.signal : EXIT_RUNTIME)
                            : exit_code(&o, &r);
    free(script);
    free(swtpm_key);
    free(patched_qemu);
    return rc;
}
