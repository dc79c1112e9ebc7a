/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tpmcrb — an embeddable TPM 2.0 CRB (Command Response Buffer) device model.
 *
 * How a VMM embeds it (the example at the end of this comment is compiled
 * and run by the tests, as it stands):
 *   1. open a backend (tpmcrb_backend_open("libtpms", &opts, &be));
 *   2. fill a struct tpmcrb_config (tpmcrb_config_init() gives defaults) and
 *      create the device with tpmcrb_device_new();
 *   3. map tpmcrb_regs_mem() read-only at cfg.base (ROM-device mode) and
 *      tpmcrb_buffer_mem() as ordinary RAM at tpmcrb_buffer_addr();
 *   4. forward every guest write to the register pages to tpmcrb_write();
 *      in full-trap mode forward reads to tpmcrb_read() as well;
 *   5. describe the device to the guest with tpmcrb_acpi_build().
 *
 * All offsets given to tpmcrb_write()/tpmcrb_read() are relative to
 * cfg.base. The register window is cfg.localities pages of 4 KiB; with the
 * split layout the command buffer page follows it directly.
 *
 * Threading: tpmcrb_write()/tpmcrb_read() may be called from any thread
 * (vCPU threads); the device serialises them internally with one lock per
 * device. Callbacks (dirty, irq) may run on the device's worker thread and
 * run WITH THAT LOCK HELD: they must not call back into the same device
 * (tpmcrb_write/read/reset/pause...), and should only record the event or
 * set an interrupt line.
 *
 * One embedded libtpms TPM per process: libtpms keeps its TPM in global
 * state, so while one "libtpms" backend is open, a second
 * tpmcrb_backend_open("libtpms", ...) in the same process fails with
 * -EBUSY. Run one VM per process, or use the swtpm backend.
 *
 * Example, with its error handling:
 *
 *   static int embed(const char *state_dir)
 *   {
 *       struct tpmcrb_backend_options bo;
 *       struct tpmcrb_backend *be;
 *       struct tpmcrb_config cfg;
 *       struct tpmcrb_device *dev;
 *       struct tpmcrb_stats st = TPMCRB_STATS_INIT;
 *       int rc;
 *
 *       tpmcrb_backend_options_init(&bo);
 *       bo.state_dir = state_dir;
 *       rc = tpmcrb_backend_open("libtpms", &bo, &be);
 *       if (rc < 0)
 *           return rc;
 *       tpmcrb_config_init(&cfg);
 *       rc = tpmcrb_device_new(&cfg, be, &dev);
 *       if (rc < 0) {
 *           tpmcrb_backend_close(be);
 *           return rc;
 *       }
 *       // map tpmcrb_regs_mem(dev) read-only at cfg.base and
 *       // tpmcrb_buffer_mem(dev) as RAM at tpmcrb_buffer_addr(&cfg);
 *       // forward guest writes:
 *       rc = tpmcrb_write(dev, 0x08, 4, 1); // LOC_CTRL: requestAccess
 *       if (rc == 0)
 *           rc = tpmcrb_get_stats(dev, &st);
 *       tpmcrb_device_free(dev);
 *       tpmcrb_backend_close(be);
 *       return rc;
 *   }
 */
#ifndef TPMCRB_H
#define TPMCRB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPMCRB_VERSION_MAJOR 0
#define TPMCRB_VERSION_MINOR 1
#define TPMCRB_VERSION_PATCH 0
#define TPMCRB_VERSION_STRING "0.1.0"

/* What the shared library exports: everything marked TPMCRB_API; the rest
 * of the library is built with hidden visibility. */
#if defined(__GNUC__) || defined(__clang__)
#define TPMCRB_API __attribute__((visibility("default")))
#else
#define TPMCRB_API
#endif

/* The version of the library actually loaded ("0.1.0"), which may be newer
 * than the TPMCRB_VERSION_STRING a program was compiled with. */
TPMCRB_API const char *tpmcrb_version(void);

/*
 * Structs that may gain fields in later versions start with a `size`
 * member: the caller sets it to sizeof(the struct) as its header declares
 * it (the *_init() functions and the TPMCRB_*_INIT macros do). The library
 * answers -EINVAL, after logging why, for a size smaller than the first
 * version of the struct, or for a larger size whose bytes past the fields
 * this library knows are not all zero (a program built against a newer
 * header that uses a field this library does not have). New fields are
 * only ever appended; zero means "the old behaviour".
 */

/* Geometry (PC Client PTP, CRB interface). */
#define TPMCRB_PAGE_SIZE            0x1000u
#define TPMCRB_MAX_LOCALITIES       5u
#define TPMCRB_X86_BASE             0xFED40000ull
#define TPMCRB_SPLIT_BUFFER_SIZE    0x1000u /* separate command buffer page */
#define TPMCRB_COMPAT_BUFFER_OFFSET 0x80u   /* the series' in-page buffer */
#define TPMCRB_COMPAT_BUFFER_SIZE   0xF80u
#define TPMCRB_SYNC_BOUND_DEFAULT_US 500u

/* Start methods of the ACPI TPM2 table for this device. */
#define TPMCRB_START_METHOD_CRB      7u /* START written to the register */
#define TPMCRB_START_METHOD_CRB_ACPI 8u /* CRB with ACPI start (_DSM) */

/* Register offsets within each locality's page (PC Client PTP, CRB
 * interface; 32-bit little-endian registers). Locality n's page is at
 * base + n * TPMCRB_PAGE_SIZE. */
#define TPMCRB_REG_LOC_STATE     0x00u
#define TPMCRB_REG_LOC_CTRL      0x08u
#define TPMCRB_REG_LOC_STS       0x0Cu
#define TPMCRB_REG_INTF_ID_LO    0x30u
#define TPMCRB_REG_INTF_ID_HI    0x34u
#define TPMCRB_REG_CTRL_EXT_LO   0x38u
#define TPMCRB_REG_CTRL_EXT_HI   0x3Cu
#define TPMCRB_REG_CTRL_REQ      0x40u
#define TPMCRB_REG_CTRL_STS      0x44u
#define TPMCRB_REG_CTRL_CANCEL   0x48u
#define TPMCRB_REG_CTRL_START    0x4Cu
#define TPMCRB_REG_INT_ENABLE    0x50u
#define TPMCRB_REG_INT_STS       0x54u
#define TPMCRB_REG_CMD_SIZE      0x58u
#define TPMCRB_REG_CMD_LADDR     0x5Cu
#define TPMCRB_REG_CMD_HADDR     0x60u
#define TPMCRB_REG_RSP_SIZE      0x64u
#define TPMCRB_REG_RSP_ADDR_LO   0x68u
#define TPMCRB_REG_RSP_ADDR_HI   0x6Cu
#define TPMCRB_REG_DATA_BUFFER   0x80u /* in-page buffer, compat layout */

/* ---------------------------------------------------------------- logging */

enum tpmcrb_log_level {
    TPMCRB_LOG_ERROR = 0,
    TPMCRB_LOG_WARN,
    TPMCRB_LOG_INFO,
    TPMCRB_LOG_DEBUG,
    TPMCRB_LOG_TRACE, /* decoded register accesses and TPM commands */
};

typedef void (*tpmcrb_log_fn)(enum tpmcrb_log_level level, const char *msg,
                              void *opaque);

/* Messages up to and including @max_level go to @fn (NULL: stderr, one line
 * each: "tpmcrb: LEVEL: message"). Default: WARN to stderr. @fn may be
 * called from any of a device's threads, with the device lock held: it
 * must not call back into the library. */
TPMCRB_API
void tpmcrb_log_set(enum tpmcrb_log_level max_level, tpmcrb_log_fn fn,
                    void *opaque);

/* ---------------------------------------------------------------- backends */

struct tpmcrb_backend;

/* What every backend implements. Calls other than cancel() are serialised
 * by the device; cancel() may arrive from another thread at any time. */
struct tpmcrb_backend_ops {
    uint32_t size; /* sizeof(struct tpmcrb_backend_ops), see above */
    const char *name;
    /* Power the TPM on with I/O buffers of @buffer_size bytes. *resumed is
     * set when saved volatile state was restored, i.e. the TPM is already
     * started and must not see TPM2_Startup again. */
    int (*power_on)(struct tpmcrb_backend *be, uint32_t buffer_size,
                    bool *resumed);
    /* Run one command from @locality. On success returns 0 with the
     * response in @rsp/@rsp_len; a negative errno means the backend failed
     * (the device then reports a fatal error to the guest). */
    int (*execute)(struct tpmcrb_backend *be, unsigned locality,
                   const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                   uint32_t rsp_cap, uint32_t *rsp_len);
    void (*cancel)(struct tpmcrb_backend *be);
    /* tpmEstablished flag; NULL means "always established". */
    bool (*get_established)(struct tpmcrb_backend *be);
    int (*reset_established)(struct tpmcrb_backend *be, unsigned locality);
    /* _TPM_Init after a platform reset (a guest reboot): the TPM drops its
     * volatile state and waits for TPM2_Startup. NULL: nothing to reset
     * (a host TPM). */
    int (*platform_reset)(struct tpmcrb_backend *be);
    /* Orderly power-off: persist what a later power_on() resumes from. */
    int (*power_off)(struct tpmcrb_backend *be);
    /* Whole backend state for snapshots (malloc'd blob). Optional. */
    int (*save_state)(struct tpmcrb_backend *be, uint8_t **blob, size_t *len);
    int (*load_state)(struct tpmcrb_backend *be, const uint8_t *blob,
                      size_t len);
    void (*destroy)(struct tpmcrb_backend *be);
    /* Optional fast path (NULL: none). Called on the thread that wrote
     * START, typically a vCPU's, for devices with a sync bound: run @cmd
     * there and then if the backend knows it finishes in microseconds and
     * needs no file, socket or process to do so; else decline it, and it
     * goes to the device's worker thread and execute(). Returns
     * TPMCRB_QUICK_DECLINED, TPMCRB_QUICK_DONE with the response, or
     * TPMCRB_QUICK_COMMIT with the response when state must still be made
     * durable by commit() (on the worker) before it may be returned, or a
     * negative errno as execute() does. */
    int (*execute_quick)(struct tpmcrb_backend *be, unsigned locality,
                         const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                         uint32_t rsp_cap, uint32_t *rsp_len);
    /* Make what the last execute_quick() changed durable. Required with
     * execute_quick(). */
    int (*commit)(struct tpmcrb_backend *be);
};

#define TPMCRB_QUICK_DECLINED 0
#define TPMCRB_QUICK_DONE     1
#define TPMCRB_QUICK_COMMIT   2

struct tpmcrb_backend {
    const struct tpmcrb_backend_ops *ops;
};

/* How state is kept by a backend that owns a state directory. */
enum tpmcrb_state_sync {
    /* Long-lived owner (a VM): NV writes are durable when made; volatile
     * state is written at power_off(). */
    TPMCRB_STATE_SYNC_OWNER = 0,
    /* Short-lived processes sharing the directory (`tpmcrb pipe`): each
     * command runs under a lock, reloads newer state from disk first and
     * writes its changes before its response is returned. */
    TPMCRB_STATE_SYNC_PER_COMMAND,
};

struct tpmcrb_backend_options {
    uint32_t size;           /* sizeof(struct tpmcrb_backend_options) */
    const char *state_dir;   /* NULL: no persistence (libtpms), or swtpm's own */
    enum tpmcrb_state_sync sync;
    bool power_cycle;        /* ignore saved volatile state: a fresh boot */
};

#define TPMCRB_BACKEND_OPTIONS_INIT \
    { .size = sizeof(struct tpmcrb_backend_options) }
/* Zeroes @o and sets its size: no persistence, owner sync. */
TPMCRB_API void tpmcrb_backend_options_init(struct tpmcrb_backend_options *o);

/* Open a backend by spec: "libtpms" (default when @spec is NULL),
 * "swtpm" (child process), "swtpm:ctrl=PATH,data=PATH" (running swtpm),
 * "passthrough:/dev/tpmrm0". @opts may be NULL (the defaults). Returns 0
 * or a negative errno, after logging what went wrong; -EBUSY for a second
 * "libtpms" backend in one process (see above). */
TPMCRB_API int tpmcrb_backend_open(const char *spec,
                        const struct tpmcrb_backend_options *opts,
                        struct tpmcrb_backend **out);
TPMCRB_API void tpmcrb_backend_close(struct tpmcrb_backend *be);

/* ------------------------------------------------------------------ device */

enum tpmcrb_layout {
    TPMCRB_LAYOUT_SPLIT = 0, /* command buffer in its own RAM page */
    TPMCRB_LAYOUT_COMPAT,    /* buffer at 0x80 in the register page (series) */
};

struct tpmcrb_config {
    uint32_t size;             /* sizeof(struct tpmcrb_config) */
    uint64_t base;             /* guest-physical address of locality 0 */
    enum tpmcrb_layout layout;
    unsigned localities;       /* 1 (locality 0 only) or 5 */
    uint32_t sync_bound_us;    /* wait for completion in START; 0 = async */
    /* Hold locality 0 from reset on. Guests that start commands through
     * ACPI (TPM2 start method 8, what poll mode advertises) never request
     * a locality, and START is taken only from the active one. */
    bool locality0_at_reset;
    /* Memory the guest sees. NULL: the device allocates it. regs_mem must
     * be localities * 4 KiB, buffer_mem 4 KiB (split layout only). Both
     * must be 4-byte aligned; they may be shared with another process. */
    void *regs_mem;
    void *buffer_mem;
    /* The device changed [offset, offset+len) of its window. Runs with the
     * device lock held (see Threading above). */
    void (*dirty)(void *opaque, uint64_t offset, uint64_t len);
    /* Interrupt line level (INT_ENABLE/INT_STS). Device lock held. */
    void (*irq)(void *opaque, bool level);
    void *opaque;
    /* With a sync bound: a command the backend knows to be quick (its
     * execute_quick()) runs on the thread that writes START, with no
     * hand-off to the worker thread; a busy host schedules one thread far
     * more readily than two. Set by tpmcrb_config_init(). */
    bool fast_path;
};

struct tpmcrb_device;

/* Defaults: x86 base, split layout, five localities, 500 us bound; sets
 * cfg->size. */
TPMCRB_API void tpmcrb_config_init(struct tpmcrb_config *cfg);

/* Size of the register window and of the whole device window. */
TPMCRB_API uint64_t tpmcrb_regs_size(const struct tpmcrb_config *cfg);
TPMCRB_API uint64_t tpmcrb_window_size(const struct tpmcrb_config *cfg);
/* Guest-physical address of the advertised command/response buffer. */
TPMCRB_API uint64_t tpmcrb_buffer_addr(const struct tpmcrb_config *cfg);
TPMCRB_API uint32_t tpmcrb_buffer_size(const struct tpmcrb_config *cfg);

/* Create a device on @be (not owned) and power the backend on. -EINVAL
 * for a bad cfg->size or be->ops->size. */
TPMCRB_API int tpmcrb_device_new(const struct tpmcrb_config *cfg,
                      struct tpmcrb_backend *be,
                      struct tpmcrb_device **out);
/* Waits for a running command (bounded), powers the backend off. */
TPMCRB_API void tpmcrb_device_free(struct tpmcrb_device *dev);
/* Platform reset (guest reboot): registers to reset values, fatal status
 * cleared, and _TPM_Init for the backend. */
TPMCRB_API void tpmcrb_device_reset(struct tpmcrb_device *dev);

TPMCRB_API void *tpmcrb_regs_mem(struct tpmcrb_device *dev);
TPMCRB_API void *tpmcrb_buffer_mem(struct tpmcrb_device *dev);
TPMCRB_API
const struct tpmcrb_config *tpmcrb_device_config(struct tpmcrb_device *dev);

/* ROM-device transport: a guest write of @size (1, 2, 4 or 8) bytes at
 * @offset. Offsets outside the window and writes to read-only registers
 * are ignored (logged at DEBUG). May wait up to sync_bound_us for a
 * started command to complete. Returns 0, or -EINVAL for a bad size. */
TPMCRB_API
int tpmcrb_write(struct tpmcrb_device *dev, uint64_t offset, unsigned size,
                 uint64_t value);
/* Full-trap transport: the value the guest reads. */
TPMCRB_API uint64_t tpmcrb_read(struct tpmcrb_device *dev, uint64_t offset,
                     unsigned size);

/* True when the backend resumed saved volatile state at power-on: the TPM
 * is already started and must not be sent TPM2_Startup again. */
TPMCRB_API bool tpmcrb_device_tpm_resumed(struct tpmcrb_device *dev);

/* True while a command is with the backend. */
TPMCRB_API bool tpmcrb_busy(struct tpmcrb_device *dev);
/* Wait until no command is in flight; -ETIMEDOUT after @timeout_ms. */
TPMCRB_API int tpmcrb_wait_idle(struct tpmcrb_device *dev, unsigned timeout_ms);

struct tpmcrb_stats {
    uint32_t size;            /* set by the caller: sizeof(struct tpmcrb_stats) */
    uint64_t writes;          /* register writes applied */
    uint64_t commands;        /* commands started */
    uint64_t completed_sync;  /* completed within the START write's bound */
    uint64_t errors;          /* backend failures */
    /* Commands the backend ran on the thread that wrote START (its
     * execute_quick() fast path) instead of on the worker thread. */
    uint64_t ran_on_start_thread;
    /* Commands cancelled (CTRL_CANCEL) before the backend was given them:
     * answered TPM_RC_CANCELED by the device, never seen by the TPM. */
    uint64_t cancelled_before_start;
};
#define TPMCRB_STATS_INIT { .size = sizeof(struct tpmcrb_stats) }
/* Fills the counters this library has (fields it does not know are zeroed;
 * st->size is left as it is). Returns 0, or -EINVAL for a bad st->size. */
TPMCRB_API
int tpmcrb_get_stats(struct tpmcrb_device *dev, struct tpmcrb_stats *st);

/* ------------------------------------------------- shared-memory transport */

/* Poll mode: regs_mem/buffer_mem live in guest RAM shared with another
 * process; a device thread watches the registers the guest writes and
 * applies them through the same rules as tpmcrb_write(). It looks every
 * few tens of microseconds for 3 ms after the guest's last write, then
 * backs off while the guest is quiet, to at most a tenth of the quiet time
 * and at most 50 ms between looks. */
struct tpmcrb_poller;
TPMCRB_API int tpmcrb_poller_start(struct tpmcrb_device *dev,
                        struct tpmcrb_poller **out);
/* The same with options. With hub_socket, an idle device (quiet for half a
 * second) hands its register pages to an idle hub listening there
 * (`tpmcrb serve-hub`) and its thread sleeps until the hub sees a guest
 * write, instead of waking twenty times a second: one hub thread watches
 * the pages of every idle device of a host. The hub maps mem_fd, the
 * shared memory file (tmpfs or hugetlbfs) regs_mem lies in, at mem_offset.
 * Without a hub, or when it fails, refuses or dies, the thread backs off by
 * itself as above and tries the hub again later. */
struct tpmcrb_poll_options {
    uint32_t size;            /* sizeof(struct tpmcrb_poll_options) */
    const char *hub_socket;   /* NULL: no hub */
    int mem_fd;               /* duplicated; the caller may close it */
    uint64_t mem_offset;      /* page aligned */
};
TPMCRB_API int tpmcrb_poller_start_with(struct tpmcrb_device *dev,
                        const struct tpmcrb_poll_options *o,
                        struct tpmcrb_poller **out);
TPMCRB_API void tpmcrb_poller_stop(struct tpmcrb_poller *p);

/* ----------------------------------------------------- platform description */

struct tpmcrb_acpi_options {
    uint32_t size;             /* sizeof(struct tpmcrb_acpi_options) */
    uint64_t base;
    enum tpmcrb_layout layout;
    unsigned localities;
    unsigned start_method;     /* TPMCRB_START_METHOD_CRB(_ACPI) */
    uint32_t log_area_min_len; /* TPM2 table LAML; 0 = no log area */
    uint64_t log_area_addr;    /* LASA */
    char oem_id[7];            /* 6 chars; "" = "TPMCRB" */
    char oem_table_id[9];      /* 8 chars; "" = "TPMCRB  " */
    uint32_t oem_revision;
};

/* The defaults (x86 base, split layout, five localities, start method 7);
 * sets o->size. */
TPMCRB_API void tpmcrb_acpi_options_init(struct tpmcrb_acpi_options *o);

/* Build the TPM2 table and an SSDT with the TPM device for @o. Each output
 * is malloc'd; the caller frees it. Returns 0 or a negative errno. */
TPMCRB_API int tpmcrb_acpi_build(const struct tpmcrb_acpi_options *o,
                      uint8_t **tpm2, size_t *tpm2_len,
                      uint8_t **ssdt, size_t *ssdt_len);

/* ------------------------------------------------- snapshot and migration */

/*
 * A snapshot is a versioned, checksummed blob of the whole device: its
 * configuration, every locality's registers, the register pages and the
 * buffer page, a command in flight, and the backend's state (when the
 * backend has save_state). The tool's `tpmcrb state inspect` decodes one.
 *
 * Live migration, in this order:
 *   1. stop the guest's vCPUs (no more register accesses);
 *   2. tpmcrb_device_pause(src, timeout): no START reaches the backend any
 *      more; waits for a command the backend is running. A START written
 *      while paused is held: it is part of the snapshot and runs on
 *      whichever device is resumed with it, once;
 *   3. tpmcrb_snapshot_save(src, &blob, &len);
 *   4. on the destination: tpmcrb_device_new() with the same base, layout
 *      and localities and a backend of the same kind, then
 *      tpmcrb_snapshot_load(dst, blob, len);
 *   5. tpmcrb_device_resume(dst), start the vCPUs, free the source.
 * If the migration fails, tpmcrb_device_resume(src) carries on where it
 * stopped. In poll mode, stop the poller (tpmcrb_poller_stop) after the
 * vCPUs and before step 2: a register write it has not applied by then is
 * not part of the snapshot.
 *
 * save/load/export/import on a device that is not paused pause it for the
 * call (waiting up to 30 s for a running command). These control calls
 * must not run concurrently with each other on one device.
 */

/* Returns 0 when the backend is idle, -ETIMEDOUT when it still runs a
 * command after @timeout_ms (the device stays paused; call again). */
TPMCRB_API
int tpmcrb_device_pause(struct tpmcrb_device *dev, unsigned timeout_ms);
/* Accept commands again; a held command goes to the backend now. */
TPMCRB_API void tpmcrb_device_resume(struct tpmcrb_device *dev);
TPMCRB_API bool tpmcrb_device_paused(struct tpmcrb_device *dev);

/* *blob is malloc'd; the caller frees it. Returns 0, -EBUSY when a
 * command is still running, or the backend's error. */
TPMCRB_API int tpmcrb_snapshot_save(struct tpmcrb_device *dev, uint8_t **blob,
                         size_t *len);
/* Checks everything first and changes nothing when anything is wrong,
 * after logging which check failed: -EBADMSG (not a snapshot, truncated,
 * checksum, impossible content), -EPROTONOSUPPORT (format version),
 * -EINVAL (configuration or backend mismatch), -EOPNOTSUPP (the backend
 * cannot load a state), -EBUSY, or the backend's
 * error (a backend that rejects its state keeps the previous one). A
 * command in flight in the snapshot runs when the device is resumed (at
 * once if it is not paused). A snapshot without backend state leaves the
 * backend as it is. */
TPMCRB_API
int tpmcrb_snapshot_load(struct tpmcrb_device *dev, const uint8_t *blob,
                         size_t len);

/*
 * The device state as named fields, for a VMM that describes migration in
 * its own terms (QEMU's VMState, a field per member): what a snapshot
 * holds of the device, without the backend's TPM state (it migrates
 * through the backend, e.g. swtpm's own state transfer) and without the
 * register pages, which are a function of these fields. The guest's
 * command/response buffers are guest memory; they travel beside the
 * struct, as tpmcrb_state_buffers_size() bytes (every locality's in-page
 * buffer in the compat layout, the buffer page in the split layout), or
 * the VMM migrates that memory itself and passes NULL.
 *
 * Live migration with it is the snapshot's sequence (pause, export; on
 * the destination a device with the same base, layout and localities,
 * import, resume). Import checks every field before it changes anything:
 * a state no device of that configuration can be in is refused with
 * -EBADMSG after logging which field is wrong, a state of another
 * configuration with -EINVAL; the device is then unchanged. tpmEstablished
 * is taken from the backend, which holds it. Arrays are indexed by
 * locality; entries from `localities` on are zero.
 */
struct tpmcrb_device_state {
    uint32_t size;               /* sizeof(struct tpmcrb_device_state) */
    /* The configuration the state was taken from. */
    uint64_t base;
    uint32_t layout;             /* enum tpmcrb_layout */
    uint32_t localities;
    /* The interface. */
    int32_t active_locality;     /* -1: none */
    bool idle;                   /* CTRL_STS.tpmIdle */
    bool fatal;                  /* CTRL_STS.tpmSts: stopped until reset */
    uint32_t intf_sel;           /* INTF_ID's InterfaceSelector, IntfSelLock */
    /* Per locality: what its registers publish (LOC_STS.beenSeized, and a
     * requestAccess waiting for the active locality to relinquish), and
     * the registers the guest writes. */
    bool loc_seized[TPMCRB_MAX_LOCALITIES];
    bool loc_requesting[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_cancel[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_start[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_int_enable[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_int_sts[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_cmd_size[TPMCRB_MAX_LOCALITIES];
    uint32_t loc_rsp_size[TPMCRB_MAX_LOCALITIES];
    uint64_t loc_cmd_addr[TPMCRB_MAX_LOCALITIES];
    uint64_t loc_rsp_addr[TPMCRB_MAX_LOCALITIES];
    /* A command the device holds: START was written while it was paused,
     * and the backend has not seen it. It runs once, on whichever device
     * is resumed with it. cmd[] is the device's own copy, taken at START. */
    bool cmd_held;
    uint32_t cmd_locality;
    uint32_t cmd_len;
    /* resetEstablishmentBit written while it waited: the locality + 1,
     * told to the backend when the command completes; 0 for none. */
    uint32_t cmd_reset_established;
    uint8_t cmd[TPMCRB_SPLIT_BUFFER_SIZE];
};

#define TPMCRB_DEVICE_STATE_INIT \
    { .size = sizeof(struct tpmcrb_device_state) }

/* Bytes of buffer memory tpmcrb_device_state_export/import move. */
TPMCRB_API uint32_t tpmcrb_state_buffers_size(const struct tpmcrb_config *cfg);

/* Fill @st (st->size set by the caller; fields this library does not know
 * are zeroed) and, unless @buffers is NULL, the device's buffers into
 * @buffers of @buffers_len bytes, which must be
 * tpmcrb_state_buffers_size(). Returns 0, -EINVAL (bad size or length),
 * or -EBUSY when a command is still with the backend. */
TPMCRB_API
int tpmcrb_device_state_export(struct tpmcrb_device *dev,
                               struct tpmcrb_device_state *st,
                               uint8_t *buffers, size_t buffers_len);
/* Make @st the device's state and, unless @buffers is NULL, @buffers its
 * buffer memory. A held command runs when the device is resumed (at once
 * if it is not paused). -EBADMSG, -EINVAL (see above) or -EBUSY. */
TPMCRB_API
int tpmcrb_device_state_import(struct tpmcrb_device *dev,
                               const struct tpmcrb_device_state *st,
                               const uint8_t *buffers, size_t buffers_len);

/*
 * QEMU's tpm-crb migration state: locality 0's registers at 0x00..0x7F as
 * 32 dwords (vmstate "tpm-crb", QEMU 7.2 and the series alike) and the
 * 3968-byte command buffer (RAM block "tpm-crb-cmd"). QEMU's guest has its
 * buffer at base + 0x80, so both calls need the compat layout. Export
 * needs locality 0 or none active and no command in flight (QEMU drains
 * its own before saving); import takes tpmEstablished from the backend and
 * runs a command whose START is set. The backend's state travels
 * separately (tpmcrb_snapshot_* or the backend's own tools).
 */
#define TPMCRB_QEMU_NUM_REGS 32u
TPMCRB_API int tpmcrb_qemu_state_export(struct tpmcrb_device *dev,
                             uint32_t regs[TPMCRB_QEMU_NUM_REGS],
                             uint8_t buffer[TPMCRB_COMPAT_BUFFER_SIZE]);
TPMCRB_API int tpmcrb_qemu_state_import(struct tpmcrb_device *dev,
                             const uint32_t regs[TPMCRB_QEMU_NUM_REGS],
                             const uint8_t buffer[TPMCRB_COMPAT_BUFFER_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* TPMCRB_H */
