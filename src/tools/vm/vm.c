/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb vm`: set up the TPM (our device in shared guest RAM, or QEMU's
 * own device with swtpm), run QEMU, pump the guest console, and take
 * everything down again on every way out: QEMU exiting or dying, SIGINT,
 * SIGTERM or SIGHUP. Children also get SIGTERM if we die (vm_spawn), and
 * guest RAM is a memfd, so not even SIGKILL leaves shared memory behind.
 */
#include "tools/vm/vm.h"
#include "tools/tool.h"
#include "tools/vm/vm_arm64.h"
#include "tools/vm/vm_guest.h"
#include "tools/vm/vm_proc.h"
#include "tools/vm/vm_qemu.h"
#include "tools/vm/vm_swtpm.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB        ((uint64_t)1024 * 1024)
#define LINE_MAX_  1024

struct vm_run {
    const struct vm_options *o;
    char tmpdir[PATH_MAX];
    char *default_kernel, *default_initrd;
    char initrd[PATH_MAX + 32];       /* default/given initrd + script */
    char tpm2_aml[PATH_MAX + 32], ssdt_aml[PATH_MAX + 32];
    char swtpm_sock[PATH_MAX + 32], swtpm_state[PATH_MAX + 32];
    char libtpms_state[PATH_MAX + 32];
    struct vm_plan plan;
    /* shm device */
    void *window;                     /* mapping of the reserved range */
    struct tpmcrb_backend *be;
    struct tpmcrb_device *dev;
    struct tpmcrb_poller *poller;
    /* children */
    pid_t swtpm, qemu;
    int state_lock;                   /* the stock swtpm's state directory */
    /* console */
    char line[LINE_MAX_];
    size_t line_len;
    int guest_exit;
};

/* The signal handler's view: which signal stopped us, whom to stop. */
static volatile sig_atomic_t stop_signal;
static volatile pid_t stop_pids[2] = { -1, -1 };

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    for (int i = 0; i < 2; i++)
        if (stop_pids[i] > 0)
            kill(stop_pids[i], SIGTERM);
}

static void install_signals(struct sigaction old[3])
{
    static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = on_stop_signal };

    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &sa, &old[i]);
    /* A console reader that went away must not kill us before cleanup. */
    signal(SIGPIPE, SIG_IGN);
}

static void restore_signals(const struct sigaction old[3])
{
    static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };

    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &old[i], NULL);
}

bool vm_arch_parse(const char *name, enum vm_arch *arch)
{
    if (!strcmp(name, "x86_64"))
        *arch = VM_ARCH_X86_64;
    else if (!strcmp(name, "aarch64") || !strcmp(name, "arm64"))
        *arch = VM_ARCH_AARCH64;
    else
        return false;
    return true;
}

const char *vm_arch_name(enum vm_arch arch)
{
    return arch == VM_ARCH_AARCH64 ? "aarch64" : "x86_64";
}

const char *vm_arch_qemu(enum vm_arch arch)
{
    return arch == VM_ARCH_AARCH64 ? "qemu-system-aarch64"
                                   : "qemu-system-x86_64";
}

const char *vm_arch_prepare_script(enum vm_arch arch)
{
    return arch == VM_ARCH_AARCH64 ? "prepare-arm64.sh" : "prepare.sh";
}

void vm_options_init(struct vm_options *o)
{
    memset(o, 0, sizeof(*o));
    o->memory_mb = 512;
    o->start_method = TPMCRB_START_METHOD_CRB_ACPI;
    o->layout = TPMCRB_LAYOUT_SPLIT;
    o->localities = TPMCRB_MAX_LOCALITIES;
    o->console_fd = STDOUT_FILENO;
}

/* ------------------------------------------------------------- the guest */

static int make_tmpdir(struct vm_run *v)
{
    const char *base = getenv("TMPDIR");

    snprintf(v->tmpdir, sizeof(v->tmpdir), "%s/tpmcrb-vm.XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(v->tmpdir)) {
        LOG_ERROR("mkdtemp %s: %s", v->tmpdir, strerror(errno));
        v->tmpdir[0] = '\0';
        return -1;
    }
    return 0;
}

static int prepare_guest(struct vm_run *v)
{
    const struct vm_options *o = v->o;

    if ((!o->kernel || !o->initrd) &&
        vm_guest_default(vm_arch_prepare_script(o->arch), &v->default_kernel,
                         &v->default_initrd) < 0)
        return -1;
    v->plan.kernel = o->kernel ? o->kernel : v->default_kernel;
    v->plan.initrd = o->initrd ? o->initrd : v->default_initrd;
    if (!o->script)
        return 0;
    snprintf(v->initrd, sizeof(v->initrd), "%s/initrd.img", v->tmpdir);
    if (vm_guest_initrd(v->plan.initrd, o->script, v->initrd) < 0)
        return -1;
    v->plan.initrd = v->initrd;
    return 0;
}

/* ------------------------------------------------------ the shm device */

static int write_acpi(struct vm_run *v, const struct tpmcrb_config *cfg)
{
    struct tpmcrb_acpi_options ao;

    acpi_options_from_config(&ao, cfg);
    ao.start_method = v->o->start_method;
    if (acpi_write_tables(&ao, v->tmpdir, false) != EXIT_OK)
        return -1;
    snprintf(v->tpm2_aml, sizeof(v->tpm2_aml), "%s/tpm2.aml", v->tmpdir);
    snprintf(v->ssdt_aml, sizeof(v->ssdt_aml), "%s/ssdt.aml", v->tmpdir);
    v->plan.tpm2_aml = v->tpm2_aml;
    v->plan.ssdt_aml = v->ssdt_aml;
    return 0;
}

/* Guest RAM as a memfd, with the device window mapped here. Below q35's
 * low-RAM limit the file offset is the guest-physical address. */
static int map_guest_ram(struct vm_run *v, struct tpmcrb_config *cfg)
{
    struct vm_plan *p = &v->plan;
    long page = sysconf(_SC_PAGESIZE);

    p->ram_bytes = (uint64_t)v->o->memory_mb * MIB;
    p->tpm_base = cfg->base = vm_tpm_base(p->ram_bytes);
    p->tpm_reserved = (tpmcrb_window_size(cfg) + (uint64_t)page - 1) &
                      ~((uint64_t)page - 1);
    p->ram_fd = memfd_create("tpmcrb-guest-ram", MFD_CLOEXEC);
    if (p->ram_fd < 0 || ftruncate(p->ram_fd, (off_t)p->ram_bytes) < 0) {
        LOG_ERROR("guest RAM (%u MiB): %s", v->o->memory_mb,
                strerror(errno));
        return -1;
    }
    v->window = mmap(NULL, p->tpm_reserved, PROT_READ | PROT_WRITE, MAP_SHARED,
                     p->ram_fd, (off_t)p->tpm_base);
    if (v->window == MAP_FAILED) {
        v->window = NULL;
        LOG_ERROR("mmap guest RAM: %s", strerror(errno));
        return -1;
    }
    cfg->regs_mem = v->window;
    if (cfg->layout == TPMCRB_LAYOUT_SPLIT)
        cfg->buffer_mem = (uint8_t *)v->window + tpmcrb_regs_size(cfg);
    return 0;
}

static int start_shm_device(struct vm_run *v)
{
    const struct vm_options *o = v->o;
    struct tpmcrb_backend_options bo = { .size = sizeof(bo),
        .state_dir = o->state_dir,
        .sync = TPMCRB_STATE_SYNC_OWNER,
        .power_cycle = true, /* a VM boot is a TPM power-on: PCRs reset */
    };
    struct tpmcrb_config cfg;
    int rc;

    tpmcrb_config_init(&cfg);
    cfg.layout = o->layout;
    cfg.localities = o->localities;
    /* With start method 8 Linux never requests a locality (docs/design.md,
     * "Running under QEMU"). */
    cfg.locality0_at_reset = o->start_method == TPMCRB_START_METHOD_CRB_ACPI;
    if (map_guest_ram(v, &cfg) < 0 || write_acpi(v, &cfg) < 0)
        return -1;
    if ((rc = tpmcrb_backend_open(o->backend, &bo, &v->be)) < 0) {
        LOG_ERROR("backend %s: %s",
                o->backend ? o->backend : "libtpms", strerror(-rc));
        return -1;
    }
    if ((rc = tpmcrb_device_new(&cfg, v->be, &v->dev)) < 0) {
        LOG_ERROR("device: %s", strerror(-rc));
        return -1;
    }
    if ((rc = tpmcrb_poller_start(v->dev, &v->poller)) < 0) {
        LOG_ERROR("poll transport: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------- the stock device */

static int start_swtpm(struct vm_run *v)
{
    const char *state = v->o->state_dir;
    enum state_dir_kind kind;
    char what[256];

    if (!state) {
        snprintf(v->swtpm_state, sizeof(v->swtpm_state), "%s/swtpm-state",
                 v->tmpdir);
        if (mkdir(v->swtpm_state, 0700) < 0) {
            LOG_ERROR("%s: %s", v->swtpm_state, strerror(errno));
            return -1;
        }
        state = v->swtpm_state;
    } else if ((kind = state_dir_probe(state, what, sizeof(what))) ==
                   STATE_DIR_TPMCRB || kind == STATE_DIR_FOREIGN ||
               kind == STATE_DIR_ERROR) {
        state_dir_refuse(state, kind, what);
        return -1;
    } else if ((v->state_lock = tpm_dir_own(state)) < 0) {
        /* The VM owns the directory for its life, as the library's owners
         * do; swtpm locks only its own files. */
        return -1;
    }
    snprintf(v->swtpm_sock, sizeof(v->swtpm_sock), "%s/swtpm.sock", v->tmpdir);
    v->plan.swtpm_sock = v->swtpm_sock;
    v->swtpm = vm_swtpm_start(state, v->o->key, v->swtpm_sock);
    stop_pids[1] = v->swtpm;
    return v->swtpm > 0 ? 0 : -1;
}

/* The patched QEMU's embedded libtpms TPM: QEMU (libtpmcrb inside it)
 * owns and locks the state directory itself; a temporary one without
 * --state. QEMU's option parser takes a comma as a separator, so a path
 * with one is refused rather than mangled. */
static int prepare_embedded_state(struct vm_run *v)
{
    const char *state = v->o->state_dir;

    if (!state) {
        snprintf(v->libtpms_state, sizeof(v->libtpms_state),
                 "%s/libtpms-state", v->tmpdir);
        if (mkdir(v->libtpms_state, 0700) < 0) {
            LOG_ERROR("%s: %s", v->libtpms_state, strerror(errno));
            return -1;
        }
        state = v->libtpms_state;
    }
    if (strchr(state, ',')) {
        LOG_ERROR("%s: QEMU cannot take a state directory whose path has a "
                  "comma", state);
        return -1;
    }
    v->plan.libtpms_state = state;
    return 0;
}

/* ------------------------------------------------------------ QEMU */

static void console_line(struct vm_run *v)
{
    const char *mark;

    v->line[v->line_len] = '\0';
    if (v->line_len && v->line[v->line_len - 1] == '\r')
        v->line[--v->line_len] = '\0';
    mark = strstr(v->line, VM_GUEST_EXIT_MARKER);
    if (mark)
        v->guest_exit = atoi(mark + strlen(VM_GUEST_EXIT_MARKER));
    if (v->o->on_line)
        v->o->on_line(v->o->opaque, v->line);
    v->line_len = 0;
}

static void console_bytes(struct vm_run *v, const char *buf, size_t n)
{
    if (v->o->console_fd >= 0 && write(v->o->console_fd, buf, n) < 0) {
        /* The reader left; keep pumping so QEMU never blocks on us. */
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || v->line_len == sizeof(v->line) - 1)
            console_line(v);
        if (buf[i] != '\n')
            v->line[v->line_len++] = buf[i];
    }
}

static void pump_console(struct vm_run *v, int fd)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        console_bytes(v, buf, (size_t)n);
    }
    if (v->line_len)
        console_line(v);
}

static int run_qemu(struct vm_run *v, struct vm_result *r)
{
    struct argv_list a = { 0 };
    int out[2] = { -1, -1 }, devnull = -1, keep = -1, rc = -1;
    bool interactive = !v->o->script;

    if (v->o->arch == VM_ARCH_AARCH64)
        vm_arm64_qemu_args(v->o, &v->plan, &a);
    else
        vm_qemu_x86_args(v->o, &v->plan, &a);
    if (!argv_ok(&a))
        goto out;
    if (v->o->device == VM_DEVICE_SHM)
        keep = v->plan.ram_fd;
    /* Interactive: QEMU owns the terminal. Scripted: no input, and the
     * console comes to us, so that Ctrl-C stops the run instead of going to
     * the guest and so that the exit line can be read. */
    if (!interactive) {
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0)
            goto out;
    }
    v->qemu = vm_spawn(a.v, devnull, out[1], keep);
    stop_pids[0] = v->qemu;
    if (v->qemu < 0)
        goto out;
    if (stop_signal)
        kill(v->qemu, SIGTERM);
    if (!interactive) {
        close(out[1]);
        out[1] = -1;
        pump_console(v, out[0]);
    }
    while (waitpid(v->qemu, &r->qemu_status, 0) < 0 && errno == EINTR)
        ;
    stop_pids[0] = v->qemu = -1;
    rc = 0;
out:
    if (rc < 0 && !argv_ok(&a))
        LOG_ERROR("out of memory");
    for (int i = 0; i < 2; i++)
        if (out[i] >= 0)
            close(out[i]);
    if (devnull >= 0)
        close(devnull);
    argv_free(&a);
    return rc;
}

/* ------------------------------------------------------------ teardown */

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void stop_child(pid_t *pid, volatile pid_t *slot)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
        ;
    *slot = *pid = -1;
}

static void teardown(struct vm_run *v)
{
    stop_child(&v->qemu, &stop_pids[0]);
    stop_child(&v->swtpm, &stop_pids[1]);
    if (v->poller)
        tpmcrb_poller_stop(v->poller);
    /* Powers the backend off: with --state the TPM's state is saved. */
    if (v->dev)
        tpmcrb_device_free(v->dev);
    if (v->be)
        tpmcrb_backend_close(v->be);
    if (v->window)
        munmap(v->window, v->plan.tpm_reserved);
    if (v->plan.ram_fd >= 0)
        close(v->plan.ram_fd);
    if (v->state_lock >= 0)
        close(v->state_lock);
    if (v->tmpdir[0])
        nftw(v->tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(v->default_kernel);
    free(v->default_initrd);
}

int vm_run(const struct vm_options *o, struct vm_result *r)
{
    struct vm_run v = { .o = o, .swtpm = -1, .qemu = -1, .guest_exit = -1,
                        .state_lock = -1 };
    struct sigaction old[3];
    int rc = -1;

    v.plan.ram_fd = -1;
    v.plan.ram_bytes = (uint64_t)o->memory_mb * MIB;
    memset(r, 0, sizeof(*r));
    install_signals(old);
    if (make_tmpdir(&v) == 0 && prepare_guest(&v) == 0 && !stop_signal) {
        if (o->device == VM_DEVICE_SHM)
            rc = start_shm_device(&v);
        else if (o->device == VM_DEVICE_QEMU_PATCHED && o->embedded_libtpms)
            rc = prepare_embedded_state(&v);
        else
            rc = start_swtpm(&v); /* behind QEMU's -tpmdev emulator */
        if (rc == 0)
            rc = stop_signal ? -1 : run_qemu(&v, r);
    }
    teardown(&v);
    r->guest_exit = v.guest_exit;
    r->signal = stop_signal;
    restore_signals(old);
    return rc;
}
