/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CRB register map of one locality's control area (PC Client PTP,
 * CRB interface). Written once here; everything else uses these names.
 * Each locality n has its page at base + n * 0x1000.
 */
#ifndef TPMCRB_REGS_H
#define TPMCRB_REGS_H

#include "tpmcrb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Offsets within a locality page: the public names (tpmcrb.h), short. */
#define CRB_LOC_STATE    TPMCRB_REG_LOC_STATE
#define CRB_LOC_CTRL     TPMCRB_REG_LOC_CTRL
#define CRB_LOC_STS      TPMCRB_REG_LOC_STS
#define CRB_INTF_ID_LO   TPMCRB_REG_INTF_ID_LO
#define CRB_INTF_ID_HI   TPMCRB_REG_INTF_ID_HI
#define CRB_CTRL_EXT_LO  TPMCRB_REG_CTRL_EXT_LO
#define CRB_CTRL_EXT_HI  TPMCRB_REG_CTRL_EXT_HI
#define CRB_CTRL_REQ     TPMCRB_REG_CTRL_REQ
#define CRB_CTRL_STS     TPMCRB_REG_CTRL_STS
#define CRB_CTRL_CANCEL  TPMCRB_REG_CTRL_CANCEL
#define CRB_CTRL_START   TPMCRB_REG_CTRL_START
#define CRB_INT_ENABLE   TPMCRB_REG_INT_ENABLE
#define CRB_INT_STS      TPMCRB_REG_INT_STS
#define CRB_CMD_SIZE     TPMCRB_REG_CMD_SIZE
#define CRB_CMD_LADDR    TPMCRB_REG_CMD_LADDR
#define CRB_CMD_HADDR    TPMCRB_REG_CMD_HADDR
#define CRB_RSP_SIZE     TPMCRB_REG_RSP_SIZE
#define CRB_RSP_ADDR_LO  TPMCRB_REG_RSP_ADDR_LO
#define CRB_RSP_ADDR_HI  TPMCRB_REG_RSP_ADDR_HI
#define CRB_REGS_END     0x70u /* 0x70..0x7F reserved */
#define CRB_DATA_BUFFER  TPMCRB_REG_DATA_BUFFER

#define CRB_NUM_DWORDS   (CRB_DATA_BUFFER / 4u)

/* LOC_STATE */
#define LOC_STATE_ESTABLISHED   (1u << 0)
#define LOC_STATE_ASSIGNED      (1u << 1)
#define LOC_STATE_ACTIVE_SHIFT  2u
#define LOC_STATE_ACTIVE_MASK   (7u << 2)
#define LOC_STATE_REG_VALID     (1u << 7)

/* LOC_CTRL */
#define LOC_CTRL_REQUEST        (1u << 0)
#define LOC_CTRL_RELINQUISH     (1u << 1)
#define LOC_CTRL_SEIZE          (1u << 2)
#define LOC_CTRL_RESET_EST      (1u << 3)

/* LOC_STS */
#define LOC_STS_GRANTED         (1u << 0)
#define LOC_STS_SEIZED          (1u << 1)

/* INTF_ID low dword */
#define INTF_TYPE_CRB           0x1u          /* 3:0 */
#define INTF_VERSION_CRB        (0x1u << 4)   /* 7:4 */
#define INTF_CAP_LOCALITY       (1u << 8)     /* five localities */
#define INTF_CAP_IDLE_BYPASS    (1u << 9)
#define INTF_CAP_XFER_64        (3u << 11)    /* 12:11 */
#define INTF_CAP_FIFO           (1u << 13)
#define INTF_CAP_CRB            (1u << 14)
#define INTF_SELECTOR_SHIFT     17u           /* 18:17 */
#define INTF_SELECTOR_MASK      (3u << 17)
#define INTF_SELECTOR_CRB       (1u << 17)
#define INTF_SEL_LOCK           (1u << 19)
#define INTF_RID_SHIFT          24u

/* INTF_ID high dword: VID 15:0, DID 31:16 (the series uses IBM's VID). */
#define INTF_VID                0x1014u
#define INTF_DID                0x0001u

/* CTRL_REQ */
#define CTRL_REQ_CMD_READY      (1u << 0)
#define CTRL_REQ_GO_IDLE        (1u << 1)

/* CTRL_STS */
#define CTRL_STS_FATAL          (1u << 0) /* tpmSts */
#define CTRL_STS_IDLE           (1u << 1) /* tpmIdle */

/* INT_ENABLE / INT_STS */
#define INT_START               (1u << 0)
#define INT_CMD_READY           (1u << 1)
#define INT_EST_CLEAR           (1u << 2)
#define INT_LOC_CHANGE          (1u << 3)
#define INT_ALL                 0xFu
#define INT_GLOBAL_ENABLE       (1u << 31)

/* ------------------------------------------------------ the register table */

#define CRB_NUM_REGS     (CRB_REGS_END / 4u)

enum crb_access {
    CRB_ACCESS_RESERVED = 0, /* reads 0, writes ignored */
    CRB_ACCESS_RO,           /* writes ignored */
    CRB_ACCESS_WO,           /* a request; reads 0 */
    CRB_ACCESS_RW,           /* the guest's value, within the writable bits */
    CRB_ACCESS_RW1C,         /* writing 1 clears a bit */
};

/* A named bit or bit field, for people (traces, `state inspect`): shown
 * when its bits are set, or when they equal @equals (nonzero), or, for a
 * @value field, as name=value whenever the bits in @requires are set. */
struct crb_bits {
    const char *name;
    uint32_t mask;
    uint32_t equals;
    bool value;
    uint32_t requires;
};

struct crb_reg {
    const char *name;            /* NULL: reserved */
    enum crb_access access;
    uint32_t writable;           /* bits a guest write may set */
    const struct crb_bits *bits; /* named bits, ends with a NULL name */
};

/* Indexed by offset / 4. */
extern const struct crb_reg crb_regs[CRB_NUM_REGS];

enum crb_field_type { CRB_FIELD_BOOL, CRB_FIELD_U32, CRB_FIELD_U64 };

enum crb_field_reset {
    CRB_RESET_ZERO,
    CRB_RESET_BUFFER_SIZE,  /* the advertised buffer's size */
    CRB_RESET_BUFFER_ADDR,  /* the advertised buffer's address */
};

#define CRB_NO_REG 0xFFFFFFFFu

/*
 * The state of one locality that is not derived from the rest of the core,
 * one row a member of struct crb_locality:
 *   X(member, type, register, mask, snapshot flag, reset, follows_command)
 * type      BOOL, U32 or U64 (CRB_FIELD_*); reset ZERO, BUFFER_SIZE or
 *           BUFFER_ADDR (CRB_RESET_*)
 * register  where it is published (a 64-bit field to register and
 *           register + 4) and imported from QEMU's layout; CRB_NO_REG: none
 * mask      bools: the bit in the register; numbers: the bits the state may
 *           hold (a snapshot with others is refused, an import drops them)
 * flag      bools: the bit in the snapshot's per-locality flags word
 * follows_command  set by the device for the command in flight only, never
 *           taken from a foreign layout
 * The order is the order of a snapshot's per-locality record (the bools
 * first, as one flags word): rows are not reordered or removed; a new row
 * goes last, with a new snapshot format version. Adding a row is all it
 * takes to publish, snapshot and import a new piece of state.
 */
#define CRB_LOCALITY_FIELDS(X) \
    X(seized,     BOOL, CRB_LOC_STS,     LOC_STS_SEIZED, 1u << 0, ZERO, false) \
    X(requesting, BOOL, CRB_NO_REG,      0u,             1u << 1, ZERO, false) \
    X(cancel,     U32,  CRB_CTRL_CANCEL, 1u,             0u, ZERO, false) \
    X(start,      U32,  CRB_CTRL_START,  1u,             0u, ZERO, true) \
    X(int_enable, U32,  CRB_INT_ENABLE,  INT_ALL | INT_GLOBAL_ENABLE, 0u, \
      ZERO, false) \
    X(int_sts,    U32,  CRB_INT_STS,     INT_ALL,        0u, ZERO, false) \
    X(cmd_size,   U32,  CRB_CMD_SIZE,    0xFFFFFFFFu, 0u, BUFFER_SIZE, false) \
    X(rsp_size,   U32,  CRB_RSP_SIZE,    0xFFFFFFFFu, 0u, BUFFER_SIZE, false) \
    X(cmd_addr,   U64,  CRB_CMD_LADDR,   0xFFFFFFFFu, 0u, BUFFER_ADDR, false) \
    X(rsp_addr,   U64,  CRB_RSP_ADDR_LO, 0xFFFFFFFFu, 0u, BUFFER_ADDR, false)

/* A row's type and reset columns name CRB_FIELD_* and CRB_RESET_*. */
#define CRB_CTYPE_BOOL bool
#define CRB_CTYPE_U32  uint32_t
#define CRB_CTYPE_U64  uint64_t
#define CRB_FIELD_MEMBER(m, t, r, mask, flag, reset, follows) CRB_CTYPE_##t m;

struct crb_locality {
    CRB_LOCALITY_FIELDS(CRB_FIELD_MEMBER)
};

/* The same rows as data, for the code that walks them. */
struct crb_field {
    const char *name;
    size_t offset;               /* in struct crb_locality */
    enum crb_field_type type;
    uint32_t reg;
    uint32_t mask;
    uint32_t flag;
    enum crb_field_reset reset;
    bool follows_command;
};

extern const struct crb_field crb_fields[];
extern const unsigned crb_nfields;

/* Bytes of one locality's record in a snapshot. */
unsigned crb_fields_snapshot_len(void);

const char *crb_reg_name(uint32_t reg);
/* The named bits of @v read from register @reg, "" when it has none. */
void crb_describe_reg(uint32_t reg, uint32_t v, char *out, size_t n);

#endif
