/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor: KVM setup, the device's memory slots, and the exit loop.
 * Read top to bottom: memory, device, vCPU, exits, run, jobs.
 */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The guest binary, built in the tree and embedded (guest_image.c). */
extern const unsigned char kvm_guest_image[];
extern const unsigned int kvm_guest_image_len;

#define SLOT_RAM   0
#define SLOT_REGS  1
#define SLOT_BUF   2
#define TSS_ADDR   0xFFFBD000u /* three pages VMX needs for real mode */
#define STACK_ROOM 0x10000u    /* kept free below ABI_STACK_TOP */
#define RSP_CAP    TPMCRB_PAGE_SIZE
#define DEFAULT_TIMEOUT_MS 60000u
#define KICK_SIGNAL SIGRTMIN  /* the watchdog's kick out of KVM_RUN */

struct vmm {
    struct vmm_options opt;
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *ram;
    void *regs_mem, *buffer_mem;   /* the device's memory, page aligned */
    uint64_t base, regs_size, window;
    struct tpmcrb_device *dev;
    struct abi_mailbox *mb;        /* in guest RAM */
    uint32_t data_next;            /* next free byte of the data area */
    struct vmm_exits exits;
    _Atomic uint64_t dirty_calls;
    char line[160];                /* guest console, one line */
    size_t line_len;
    /* during vmm_run() */
    struct vmm_job_report *reports;
    uint32_t next_done;
    timer_t watchdog;
    uint64_t deadline_ns, last_ns;
    struct vmm_exits last_exits;
    struct tpmcrb_stats last_stats;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Log a failed call and return its negative errno. */
static int fail(const char *what)
{
    int err = errno ? errno : EIO;

    fprintf(stderr, "kvm-vmm: %s: %s\n", what, strerror(err));
    return -err;
}

/* ------------------------------------------------------------ memory */

/* Shared anonymous pages: never copy-on-write, so the host page KVM maps
 * stays the one the device writes. */
static void *map_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

static int set_slot(struct vmm *vm, uint32_t slot, uint64_t gpa,
                    uint64_t size, void *mem, uint32_t flags)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .flags = flags, .guest_phys_addr = gpa,
        .memory_size = size, .userspace_addr = (uintptr_t)mem,
    };

    if (ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");
    return 0;
}

/*
 * ROM mapping: the register pages read-only (reads are memory, writes
 * exit), the split layout's buffer page as plain RAM (no exits). The
 * compat layout has its buffer inside the register pages, so its data
 * writes exit too. Full trap: no slot, everything exits.
 */
static int map_device(struct vmm *vm)
{
    int err;

    if (vm->opt.mapping == VMM_MAP_TRAP)
        return 0;
    if (ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
        fprintf(stderr, "kvm-vmm: KVM lacks KVM_CAP_READONLY_MEM; use the "
                "full-trap mapping\n");
        return -ENOTSUP;
    }
    err = set_slot(vm, SLOT_REGS, vm->base, vm->regs_size, vm->regs_mem,
                   KVM_MEM_READONLY);
    if (!err && vm->buffer_mem)
        err = set_slot(vm, SLOT_BUF, vm->base + vm->regs_size,
                       TPMCRB_SPLIT_BUFFER_SIZE, vm->buffer_mem, 0);
    return err;
}

/* ------------------------------------------------------------ device */

/*
 * The device changed [offset, offset + len) of its window. The read-only
 * slot maps regs_mem itself, the very pages the device writes, and the
 * buffer slot maps buffer_mem: the guest's next read sees the change with
 * nothing to copy (x86 keeps the device's stores in order; the device
 * publishes the response before START reads 0). A monitor that has to map
 * a copy instead (memory it cannot hand to the library) copies this range
 * into it here; note that the library reports register changes only, so
 * such a monitor must also copy the response when START clears.
 */
static void on_dirty(void *opaque, uint64_t offset, uint64_t len)
{
    struct vmm *vm = opaque;

    (void)offset;
    (void)len;
    atomic_fetch_add_explicit(&vm->dirty_calls, 1, memory_order_relaxed);
}

static int check_window(const struct vmm *vm)
{
    if (vm->base + vm->window > 0x100000000ull) {
        fprintf(stderr, "kvm-vmm: the guest does not page: the device must "
                "sit below 4 GiB\n");
        return -EINVAL;
    }
    if (vm->base < ABI_RAM_SIZE ||
        (vm->base < TSS_ADDR + 3 * TPMCRB_PAGE_SIZE &&
         vm->base + vm->window > TSS_ADDR)) {
        fprintf(stderr, "kvm-vmm: device window %#llx overlaps guest RAM or "
                "the TSS pages\n", (unsigned long long)vm->base);
        return -EINVAL;
    }
    return 0;
}

static int create_device(struct vmm *vm)
{
    struct tpmcrb_config cfg = vm->opt.dev;
    int err;

    cfg.regs_mem = vm->regs_mem;
    cfg.buffer_mem = vm->buffer_mem;
    cfg.dirty = on_dirty;
    cfg.irq = NULL;
    cfg.opaque = vm;
    if ((err = tpmcrb_device_new(&cfg, vm->opt.be, &vm->dev)) < 0)
        fprintf(stderr, "kvm-vmm: tpmcrb_device_new: %s\n", strerror(-err));
    return err;
}

static int alloc_device_memory(struct vmm *vm)
{
    const struct tpmcrb_config *cfg = &vm->opt.dev;

    vm->base = cfg->base;
    vm->regs_size = tpmcrb_regs_size(cfg);
    vm->window = tpmcrb_window_size(cfg);
    vm->regs_mem = map_pages(vm->regs_size);
    if (cfg->layout == TPMCRB_LAYOUT_SPLIT)
        vm->buffer_mem = map_pages(TPMCRB_SPLIT_BUFFER_SIZE);
    if (!vm->regs_mem ||
        (cfg->layout == TPMCRB_LAYOUT_SPLIT && !vm->buffer_mem))
        return fail("mmap");
    return 0;
}

/* ------------------------------------------------------------ vCPU */

static int create_vcpu(struct vmm *vm)
{
    int size;

    vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0);
    if (vm->vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    vm->run_size = (size_t)size;
    vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   vm->vcpu, 0);
    if (vm->run == MAP_FAILED) {
        vm->run = NULL;
        return fail("mmap kvm_run");
    }
    return 0;
}

/* Flat 4 GiB segments, protected mode, no paging: the guest's pointers
 * are guest-physical addresses. No GDT in memory is needed because the
 * guest never reloads a segment register. */
static int reset_vcpu(struct vmm *vm)
{
    struct kvm_segment code = {
        .base = 0, .limit = 0xFFFFFFFFu, .selector = 0x08, .type = 0xB,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
    };
    struct kvm_segment data = code;
    struct kvm_sregs sregs;
    struct kvm_regs regs = {
        .rip = ABI_LOAD_ADDR, .rsp = ABI_STACK_TOP, .rflags = 0x2,
    };

    data.selector = 0x10;
    data.type = 0x3;
    if (ioctl(vm->vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.cr0 = 0x11; /* PE, ET: caches on, no paging */
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &sregs) < 0)
        return fail("KVM_SET_SREGS");
    if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");
    return 0;
}

static int load_guest(struct vmm *vm)
{
    if (kvm_guest_image_len > ABI_STACK_TOP - STACK_ROOM - ABI_LOAD_ADDR) {
        fprintf(stderr, "kvm-vmm: guest image too large\n");
        return -E2BIG;
    }
    memcpy(vm->ram + ABI_LOAD_ADDR, kvm_guest_image, kvm_guest_image_len);
    return reset_vcpu(vm);
}

/* ------------------------------------------------------------ lifecycle */

static int open_kvm(struct vmm *vm)
{
    vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm < 0)
        return fail("/dev/kvm");
    if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        fprintf(stderr, "kvm-vmm: unexpected KVM API version\n");
        return -ENOTSUP;
    }
    vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, 0);
    if (vm->vm < 0)
        return fail("KVM_CREATE_VM");
    if (ioctl(vm->vm, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
        return fail("KVM_SET_TSS_ADDR");
    return 0;
}

int vmm_create(const struct vmm_options *o, struct vmm **out)
{
    struct vmm *vm = calloc(1, sizeof(*vm));
    int err;

    if (!vm)
        return -ENOMEM;
    vm->opt = *o;
    vm->kvm = vm->vm = vm->vcpu = -1;
    if (!vm->opt.timeout_ms)
        vm->opt.timeout_ms = DEFAULT_TIMEOUT_MS;
    /* The device before its slots: it fills its pages before KVM maps
     * them. */
    if ((err = open_kvm(vm)) < 0 || (err = alloc_device_memory(vm)) < 0 ||
        (err = check_window(vm)) < 0 || (err = create_device(vm)) < 0)
        goto fail;
    vm->ram = map_pages(ABI_RAM_SIZE);
    if (!vm->ram) {
        err = fail("mmap guest RAM");
        goto fail;
    }
    vm->mb = (struct abi_mailbox *)(vm->ram + ABI_MAILBOX);
    if ((err = set_slot(vm, SLOT_RAM, 0, ABI_RAM_SIZE, vm->ram, 0)) < 0 ||
        (err = map_device(vm)) < 0 || (err = create_vcpu(vm)) < 0)
        goto fail;
    vmm_jobs_clear(vm);
    *out = vm;
    return 0;
fail:
    vmm_destroy(vm);
    return err;
}

void vmm_destroy(struct vmm *vm)
{
    if (!vm)
        return;
    if (vm->run)
        munmap(vm->run, vm->run_size);
    if (vm->vcpu >= 0)
        close(vm->vcpu);
    if (vm->vm >= 0)
        close(vm->vm);
    if (vm->kvm >= 0)
        close(vm->kvm);
    /* The VM is gone: nothing maps the device memory any more. */
    tpmcrb_device_free(vm->dev);
    if (vm->ram)
        munmap(vm->ram, ABI_RAM_SIZE);
    if (vm->regs_mem)
        munmap(vm->regs_mem, vm->regs_size);
    if (vm->buffer_mem)
        munmap(vm->buffer_mem, TPMCRB_SPLIT_BUFFER_SIZE);
    free(vm);
}

struct tpmcrb_device *vmm_device(struct vmm *vm) { return vm->dev; }
uint64_t vmm_dirty_calls(struct vmm *vm) { return atomic_load(&vm->dirty_calls); }

/* ------------------------------------------------------------ exits */

/* Data: the in-page buffer (0x80 and up in a locality page) or the
 * buffer page after the registers; everything else is a register. */
static bool is_data(const struct vmm *vm, uint64_t off)
{
    return off >= vm->regs_size || off % TPMCRB_PAGE_SIZE >= 0x80;
}

static int handle_mmio(struct vmm *vm)
{
    uint64_t addr = vm->run->mmio.phys_addr, off = addr - vm->base, v = 0;
    unsigned len = vm->run->mmio.len;
    bool data;

    if (addr < vm->base || off >= vm->window || len > vm->window - off ||
        len > sizeof(v)) {
        fprintf(stderr, "kvm-vmm: guest %s unmapped %#llx (%u bytes)\n",
                vm->run->mmio.is_write ? "wrote" : "read",
                (unsigned long long)addr, len);
        return -EFAULT;
    }
    data = is_data(vm, off);
    if (vm->run->mmio.is_write) {
        memcpy(&v, vm->run->mmio.data, len); /* x86: little-endian */
        tpmcrb_write(vm->dev, off, len, v);
        data ? vm->exits.data_write++ : vm->exits.reg_write++;
    } else {
        v = tpmcrb_read(vm->dev, off, len);
        memcpy(vm->run->mmio.data, &v, len);
        data ? vm->exits.data_read++ : vm->exits.reg_read++;
    }
    return 0;
}

static void exits_sub(struct vmm_exits *d, const struct vmm_exits *a,
                      const struct vmm_exits *b)
{
    d->reg_read = a->reg_read - b->reg_read;
    d->reg_write = a->reg_write - b->reg_write;
    d->data_read = a->data_read - b->data_read;
    d->data_write = a->data_write - b->data_write;
    d->port = a->port - b->port;
    d->sleeps = a->sleeps - b->sleeps;
    d->slept_us = a->slept_us - b->slept_us;
}

/* "Job i done": close the host's account of that job. */
static int job_done(struct vmm *vm, uint32_t index)
{
    uint64_t now = now_ns();
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;

    if (index != vm->next_done || index >= vm->mb->njobs) {
        fprintf(stderr, "kvm-vmm: guest reported job %u, expected %u\n",
                index, vm->next_done);
        return -EPROTO;
    }
    tpmcrb_get_stats(vm->dev, &st);
    if (vm->reports) {
        struct vmm_job_report *r = &vm->reports[index];

        r->ns = now - vm->last_ns;
        exits_sub(&r->exits, &vm->exits, &vm->last_exits);
        r->dev_commands = st.commands - vm->last_stats.commands;
        r->dev_sync = st.completed_sync - vm->last_stats.completed_sync;
    }
    vm->next_done++;
    vm->last_ns = now;
    vm->last_exits = vm->exits;
    vm->last_stats = st;
    return 0;
}

/* Linux's poll sleep, on behalf of a guest that has no timer. */
static void guest_sleep(struct vmm *vm, uint32_t us)
{
    struct timespec ts = { us / 1000000u, (long)(us % 1000000u) * 1000 };

    if (!us)
        return;
    vm->exits.sleeps++;
    vm->exits.slept_us += us;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void console_putc(struct vmm *vm, char c)
{
    if (c != '\n' && vm->line_len < sizeof(vm->line) - 1) {
        vm->line[vm->line_len++] = c;
        return;
    }
    vm->line[vm->line_len] = '\0';
    if (!vm->opt.quiet)
        fprintf(stderr, "guest: %s\n", vm->line);
    vm->line_len = 0;
}

static int handle_io(struct vmm *vm)
{
    const struct kvm_run *run = vm->run;
    const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
    uint32_t v = 0;
    int err = 0;

    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.count != 1 ||
        run->io.size > sizeof(v)) {
        fprintf(stderr, "kvm-vmm: unexpected port access %#x\n", run->io.port);
        return -EPROTO;
    }
    memcpy(&v, data, run->io.size);
    vm->exits.port++;
    switch (run->io.port) {
    case ABI_PORT_CONSOLE: console_putc(vm, (char)v); break;
    case ABI_PORT_DONE:    err = job_done(vm, v); break;
    case ABI_PORT_SLEEP:   guest_sleep(vm, v); break;
    default:
        fprintf(stderr, "kvm-vmm: write to unknown port %#x\n", run->io.port);
        err = -EPROTO;
    }
    return err;
}

static void dump_vcpu(struct vmm *vm)
{
    struct kvm_regs regs;

    if (ioctl(vm->vcpu, KVM_GET_REGS, &regs) == 0)
        fprintf(stderr, "kvm-vmm: rip %#llx rsp %#llx\n",
                (unsigned long long)regs.rip, (unsigned long long)regs.rsp);
}

/* 1: the guest halted; 0: keep running; < 0: error. */
static int handle_exit(struct vmm *vm)
{
    switch (vm->run->exit_reason) {
    case KVM_EXIT_MMIO:
        return handle_mmio(vm);
    case KVM_EXIT_IO:
        return handle_io(vm);
    case KVM_EXIT_HLT:
        return 1;
    case KVM_EXIT_INTR:
        return 0;
    case KVM_EXIT_FAIL_ENTRY:
        fprintf(stderr, "kvm-vmm: VM entry failed, reason %#llx\n",
                (unsigned long long)
                vm->run->fail_entry.hardware_entry_failure_reason);
        return -EIO;
    case KVM_EXIT_INTERNAL_ERROR:
        fprintf(stderr, "kvm-vmm: KVM internal error %u\n",
                vm->run->internal.suberror);
        break;
    case KVM_EXIT_SHUTDOWN:
        fprintf(stderr, "kvm-vmm: guest shut down (triple fault)\n");
        break;
    default:
        fprintf(stderr, "kvm-vmm: unhandled exit %u\n", vm->run->exit_reason);
        break;
    }
    dump_vcpu(vm);
    return -EIO;
}

/* ------------------------------------------------------------ run */

static void clear_results(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->mb->njobs; i++) {
        struct abi_job *j = &vm->mb->jobs[i];

        j->status = ABI_PENDING;
        j->rsp_len = j->result = j->ready_first = 0;
    }
}

static void begin_run(struct vmm *vm, struct vmm_job_report *reports)
{
    vm->mb->magic = ABI_MAGIC;
    vm->mb->base = (uint32_t)vm->base;
    clear_results(vm);
    vm->reports = reports;
    vm->next_done = 0;
    vm->line_len = 0;
    vm->last_exits = vm->exits;
    vm->last_stats.size = sizeof(vm->last_stats);
    tpmcrb_get_stats(vm->dev, &vm->last_stats);
    vm->last_ns = now_ns();
    vm->deadline_ns = vm->last_ns + (uint64_t)vm->opt.timeout_ms * 1000000ull;
}

static void on_kick(int sig)
{
    (void)sig;
}

/*
 * A guest that makes no exit keeps KVM_RUN from returning, so the deadline
 * also needs a watchdog: a timer that signals this thread once a second,
 * which makes KVM_RUN return with EINTR.
 */
static int start_watchdog(struct vmm *vm)
{
    struct sigaction sa = { .sa_handler = on_kick }; /* no SA_RESTART */
    struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
                            .sigev_signo = KICK_SIGNAL };
    struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };

    sev._sigev_un._tid = gettid();
    if (sigaction(KICK_SIGNAL, &sa, NULL) < 0 ||
        timer_create(CLOCK_MONOTONIC, &sev, &vm->watchdog) < 0)
        return fail("watchdog timer");
    if (timer_settime(vm->watchdog, 0, &every_second, NULL) < 0) {
        timer_delete(vm->watchdog);
        return fail("watchdog timer");
    }
    return 0;
}

static bool past_deadline(struct vmm *vm)
{
    if (now_ns() <= vm->deadline_ns)
        return false;
    fprintf(stderr, "kvm-vmm: run exceeded %u ms (job %u of %u)\n",
            vm->opt.timeout_ms, vm->next_done, vm->mb->njobs);
    dump_vcpu(vm);
    return true;
}

static int run_loop(struct vmm *vm)
{
    int err;

    for (;;) {
        if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
            if (errno != EINTR && errno != EAGAIN)
                return fail("KVM_RUN");
        } else if ((err = handle_exit(vm)) != 0) {
            return err;
        }
        if (past_deadline(vm))
            return -ETIMEDOUT;
    }
}

int vmm_run(struct vmm *vm, struct vmm_job_report *reports)
{
    int err;

    if ((err = load_guest(vm)) < 0 || (err = start_watchdog(vm)) < 0)
        return err;
    begin_run(vm, reports);
    err = run_loop(vm);
    timer_delete(vm->watchdog);
    if (err < 0)
        return err;
    if (vm->next_done != vm->mb->njobs) {
        fprintf(stderr, "kvm-vmm: guest halted after %u of %u jobs\n",
                vm->next_done, vm->mb->njobs);
        return -EPROTO;
    }
    return 0;
}

/* ------------------------------------------------------------ jobs */

void vmm_jobs_clear(struct vmm *vm)
{
    vm->mb->njobs = 0;
    vm->data_next = ABI_DATA;
}

static struct abi_job *new_job(struct vmm *vm, uint32_t op)
{
    struct abi_job *j;

    if (vm->mb->njobs >= ABI_MAX_JOBS)
        return NULL;
    j = &vm->mb->jobs[vm->mb->njobs++];
    memset(j, 0, sizeof(*j));
    j->op = op;
    j->repeat = 1;
    return j;
}

/* Guest memory in the data area; 0 when it is full. */
static uint32_t alloc_data(struct vmm *vm, uint32_t len)
{
    uint32_t at = vm->data_next;

    if (len > ABI_RAM_SIZE - at)
        return 0;
    vm->data_next = (at + len + 15u) & ~15u;
    return at;
}

static int job_index(struct vmm *vm, const struct abi_job *j)
{
    return (int)(j - vm->mb->jobs);
}

int vmm_add_transmit(struct vmm *vm, unsigned locality, const void *cmd,
                     uint32_t len, uint32_t repeat, uint32_t flags)
{
    uint32_t src = alloc_data(vm, len), rsp = alloc_data(vm, RSP_CAP);
    struct abi_job *j;

    if (!src || !rsp || !(j = new_job(vm, ABI_OP_TRANSMIT)))
        return -ENOSPC;
    memcpy(vm->ram + src, cmd, len);
    j->locality = locality;
    j->flags = flags;
    j->repeat = repeat;
    j->src = src;
    j->len = len;
    j->rsp = rsp;
    j->rsp_cap = RSP_CAP;
    return job_index(vm, j);
}

int vmm_add_write(struct vmm *vm, uint32_t offset, unsigned size,
                  uint32_t value)
{
    struct abi_job *j = new_job(vm, ABI_OP_WRITE);

    if (!j)
        return -ENOSPC;
    j->addr = offset;
    j->size = size;
    j->value = value;
    return job_index(vm, j);
}

int vmm_add_read(struct vmm *vm, uint32_t offset, unsigned size)
{
    struct abi_job *j = new_job(vm, ABI_OP_READ);

    if (!j)
        return -ENOSPC;
    j->addr = offset;
    j->size = size;
    return job_index(vm, j);
}

int vmm_add_copy(struct vmm *vm, uint32_t offset, const void *data,
                 uint32_t len)
{
    uint32_t src = alloc_data(vm, len);
    struct abi_job *j;

    if (!src || !(j = new_job(vm, ABI_OP_COPY)))
        return -ENOSPC;
    memcpy(vm->ram + src, data, len);
    j->addr = offset;
    j->src = src;
    j->len = len;
    return job_index(vm, j);
}

const struct abi_job *vmm_job(struct vmm *vm, unsigned i)
{
    return i < vm->mb->njobs ? &vm->mb->jobs[i] : NULL;
}

const uint8_t *vmm_response(struct vmm *vm, unsigned i)
{
    const struct abi_job *j = vmm_job(vm, i);

    return j && j->op == ABI_OP_TRANSMIT ? vm->ram + j->rsp : NULL;
}
