/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CRB state machine: pure register logic over the guest-visible pages.
 * No threads, no I/O, no allocation. The caller serialises all calls.
 *
 * The authoritative state lives in struct crb_core; the pages are a
 * function of it, recomputed by crb_publish() after every change and
 * stored little-endian (util/byteorder.h), and image[] remembers what was
 * last published, in host order (crb_take_guest_writes() compares guest
 * memory against it to find guest writes).
 */
#ifndef TPMCRB_CRB_H
#define TPMCRB_CRB_H

#include "core/regs.h"
#include "tpmcrb.h"

#include <stdbool.h>

#define CRB_MAX_BUFFER TPMCRB_SPLIT_BUFFER_SIZE

struct crb_hooks {
    /* A command of @len bytes (in core->cmd) from @locality starts. */
    void (*submit)(void *opaque, unsigned locality, uint32_t len);
    void (*cancel)(void *opaque);
    bool (*get_established)(void *opaque);
    void (*reset_established)(void *opaque, unsigned locality);
    void (*dirty)(void *opaque, uint64_t offset, uint64_t len);
    void (*irq)(void *opaque, bool level);
    void *opaque;
};

/* A field of @l described by the register table (core/regs.h). */
static inline uint64_t crb_field_get(const struct crb_locality *l,
                                     const struct crb_field *f)
{
    const char *p = (const char *)l + f->offset;

    switch (f->type) {
    case CRB_FIELD_BOOL: return *(const bool *)p;
    case CRB_FIELD_U32:  return *(const uint32_t *)p;
    default:             return *(const uint64_t *)p;
    }
}

static inline void crb_field_set(struct crb_locality *l,
                                 const struct crb_field *f, uint64_t v)
{
    char *p = (char *)l + f->offset;

    switch (f->type) {
    case CRB_FIELD_BOOL: *(bool *)p = v != 0; break;
    case CRB_FIELD_U32:  *(uint32_t *)p = (uint32_t)v; break;
    default:             *(uint64_t *)p = v; break;
    }
}

/*
 * The interface states of the PTP's CRB state diagram, as the core holds
 * them: idle (CTRL_STS.tpmIdle), ready (after cmdReady: the guest fills the
 * buffer — the spec's command reception — and reads a response — its
 * command completion — in this state, which the device cannot tell apart),
 * execution (START is 1: the command is with the backend; a cancel asks
 * the backend to end it early) and fatal (CTRL_STS.tpmSts: nothing runs
 * until reset).
 */
enum crb_intf_state {
    CRB_STATE_IDLE,
    CRB_STATE_READY,
    CRB_STATE_EXECUTION,
    CRB_STATE_FATAL,
};

struct crb_core {
    /* configuration */
    uint64_t base;
    enum tpmcrb_layout layout;
    unsigned nloc;
    bool locality0_at_reset;
    uint8_t *regs;               /* nloc pages */
    uint8_t *buffer;             /* split layout's buffer page, or NULL */
    struct crb_hooks hooks;

    /* state */
    int active;                  /* active locality, -1 when none */
    bool idle, fatal, established;
    bool busy;                   /* a command is with the backend */
    unsigned busy_loc;
    /* resetEstablishment written while a command ran: the backend hears
     * of it before the completion, on the thread that ran the command
     * (locality + 1, or 0 for none). The guest reads the device's own
     * copy at once. */
    unsigned reset_est_pending;
    uint32_t intf_sel;           /* InterfaceSelector and IntfSelLock bits */
    bool irq_level;
    struct crb_locality loc[TPMCRB_MAX_LOCALITIES];

    /* the command in flight: a private copy, and where its response goes */
    uint8_t *rsp_buf;
    uint32_t rsp_cap;
    uint32_t cmd_len;
    /* Two places for the copy (crb_cmd()): after a reset gave up on a
     * command, the backend may still read its copy while the next START
     * makes a new one (crb_detach_command()). */
    uint8_t cmd_bufs[2][CRB_MAX_BUFFER];
    unsigned cmd_sel;

    uint32_t image[TPMCRB_MAX_LOCALITIES][CRB_NUM_DWORDS];
    /* What image[] was last built from: a page whose inputs are the same
     * bytes is not built again (most writes change one locality's state
     * and nothing global). */
    struct crb_locality published_loc[TPMCRB_MAX_LOCALITIES];
    uint32_t published_globals[3];
    int published_active;
};

/* The private copy of the command in flight. */
static inline uint8_t *crb_cmd(struct crb_core *c)
{
    return c->cmd_bufs[c->cmd_sel];
}

static inline const uint8_t *crb_cmd_const(const struct crb_core *c)
{
    return c->cmd_bufs[c->cmd_sel];
}

/* A reset is giving up on the command with the backend, which may go on
 * reading its copy: later commands are copied to the other place. */
static inline void crb_detach_command(struct crb_core *c)
{
    c->cmd_sel ^= 1;
}

void crb_init(struct crb_core *c, const struct tpmcrb_config *cfg,
              uint8_t *regs, uint8_t *buffer, const struct crb_hooks *hooks);
void crb_reset(struct crb_core *c);

/* A guest write; returns true when it started a command. */
bool crb_write(struct crb_core *c, uint64_t offset, unsigned size,
               uint64_t value);
/* One register dword of a locality page with a byte-enable @mask. */
bool crb_write_reg(struct crb_core *c, unsigned loc, uint32_t reg,
                   uint32_t value, uint32_t mask);
uint64_t crb_read(const struct crb_core *c, uint64_t offset, unsigned size);

/* Register pages in guest RAM (the poll transport): every register dword
 * that differs from what was last published is a guest write; apply them
 * all and consume them. */
struct crb_guest_writes {
    unsigned writes, commands;
};
void crb_take_guest_writes(struct crb_core *c, struct crb_guest_writes *n);

/* The backend finished the command in flight: @err < 0 is a failure.
 * The caller first tells the backend of a reset_est_pending. */
void crb_complete(struct crb_core *c, const uint8_t *rsp, uint32_t len,
                  int err);

/* Recompute every register and store the ones that changed. */
void crb_publish(struct crb_core *c);
/* The state fields were set from a snapshot: find the response buffer of
 * a command in flight again and store every register. */
void crb_restored(struct crb_core *c);

uint64_t crb_window_size(const struct crb_core *c);

enum crb_intf_state crb_intf_state(const struct crb_core *c);
const char *crb_intf_state_name(enum crb_intf_state s);

/* NULL when a device at @base with @layout and @nloc localities can exist
 * (1 or 5 localities, a known layout, a page-aligned base whose window does
 * not wrap; with @below_4gib, as ACPI's 32-bit descriptors need, a window
 * that ends below 4 GiB), else what is wrong. The one place that rule is
 * written. */
const char *crb_geometry_problem(uint64_t base, enum tpmcrb_layout layout,
                                 unsigned nloc, bool below_4gib);

#endif
