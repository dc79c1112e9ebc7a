/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CRB register table (PC Client PTP, CRB interface) and the state of a
 * locality behind it. Adding a register or a piece of locality state is a
 * row here (and, for state, a member of struct crb_locality): publishing,
 * the QEMU layout, snapshots and `tpmcrb state inspect` follow the table.
 */
#include "core/crb.h"

#include <stdio.h>
#include <string.h>

#define BIT(n, m)          { .name = (n), .mask = (m) }
#define EQUALS(n, m, e)    { .name = (n), .mask = (m), .equals = (e) }
#define VALUE(n, m, req) \
    { .name = (n), .mask = (m), .value = true, .requires = (req) }

static const struct crb_bits loc_state_bits[] = {
    BIT("established", LOC_STATE_ESTABLISHED),
    BIT("assigned", LOC_STATE_ASSIGNED),
    VALUE("active", LOC_STATE_ACTIVE_MASK, LOC_STATE_ASSIGNED),
    BIT("valid", LOC_STATE_REG_VALID),
    { .name = NULL },
};

static const struct crb_bits loc_ctrl_bits[] = {
    BIT("requestAccess", LOC_CTRL_REQUEST),
    BIT("relinquish", LOC_CTRL_RELINQUISH),
    BIT("seize", LOC_CTRL_SEIZE),
    BIT("resetEstablishmentBit", LOC_CTRL_RESET_EST),
    { .name = NULL },
};

static const struct crb_bits loc_sts_bits[] = {
    BIT("granted", LOC_STS_GRANTED),
    BIT("beenSeized", LOC_STS_SEIZED),
    { .name = NULL },
};

static const struct crb_bits intf_id_bits[] = {
    EQUALS("CRB", 0xFu, INTF_TYPE_CRB),
    BIT("fiveLocalities", INTF_CAP_LOCALITY),
    EQUALS("selector=CRB", INTF_SELECTOR_MASK, INTF_SELECTOR_CRB),
    BIT("locked", INTF_SEL_LOCK),
    { .name = NULL },
};

static const struct crb_bits ctrl_req_bits[] = {
    BIT("cmdReady", CTRL_REQ_CMD_READY),
    BIT("goIdle", CTRL_REQ_GO_IDLE),
    { .name = NULL },
};

static const struct crb_bits ctrl_sts_bits[] = {
    BIT("fatal", CTRL_STS_FATAL),
    BIT("idle", CTRL_STS_IDLE),
    { .name = NULL },
};

static const struct crb_bits int_bits[] = {
    BIT("global", INT_GLOBAL_ENABLE),
    BIT("start", INT_START),
    BIT("cmdReady", INT_CMD_READY),
    BIT("establishmentClear", INT_EST_CLEAR),
    BIT("localityChange", INT_LOC_CHANGE),
    { .name = NULL },
};

#define REG(off, nm, acc, wr, b) \
    [(off) / 4] = { .name = (nm), .access = (acc), .writable = (wr), \
                    .bits = (b) }

const struct crb_reg crb_regs[CRB_NUM_REGS] = {
    REG(CRB_LOC_STATE, "LOC_STATE", CRB_ACCESS_RO, 0, loc_state_bits),
    REG(CRB_LOC_CTRL, "LOC_CTRL", CRB_ACCESS_WO, 0xFu, loc_ctrl_bits),
    REG(CRB_LOC_STS, "LOC_STS", CRB_ACCESS_RO, 0, loc_sts_bits),
    /* Only InterfaceSelector and IntfSelLock, and only until locked. */
    REG(CRB_INTF_ID_LO, "INTF_ID", CRB_ACCESS_RW,
        INTF_SELECTOR_MASK | INTF_SEL_LOCK, intf_id_bits),
    REG(CRB_INTF_ID_HI, "INTF_ID_HI", CRB_ACCESS_RO, 0, NULL),
    REG(CRB_CTRL_EXT_LO, "CTRL_EXT", CRB_ACCESS_RESERVED, 0, NULL),
    REG(CRB_CTRL_EXT_HI, "CTRL_EXT_HI", CRB_ACCESS_RESERVED, 0, NULL),
    /* The TPM clears a request once it has acted on it: reads 0. */
    REG(CRB_CTRL_REQ, "CTRL_REQ", CRB_ACCESS_RW,
        CTRL_REQ_CMD_READY | CTRL_REQ_GO_IDLE, ctrl_req_bits),
    REG(CRB_CTRL_STS, "CTRL_STS", CRB_ACCESS_RO, 0, ctrl_sts_bits),
    REG(CRB_CTRL_CANCEL, "CTRL_CANCEL", CRB_ACCESS_RW, 1u, NULL),
    /* 1 while the command runs; the TPM clears it on completion. */
    REG(CRB_CTRL_START, "CTRL_START", CRB_ACCESS_RW, 1u, NULL),
    REG(CRB_INT_ENABLE, "INT_ENABLE", CRB_ACCESS_RW,
        INT_ALL | INT_GLOBAL_ENABLE, int_bits),
    REG(CRB_INT_STS, "INT_STS", CRB_ACCESS_RW1C, INT_ALL, int_bits),
    REG(CRB_CMD_SIZE, "CMD_SIZE", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
    REG(CRB_CMD_LADDR, "CMD_LADDR", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
    REG(CRB_CMD_HADDR, "CMD_HADDR", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
    REG(CRB_RSP_SIZE, "RSP_SIZE", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
    REG(CRB_RSP_ADDR_LO, "RSP_ADDR", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
    REG(CRB_RSP_ADDR_HI, "RSP_ADDR_HI", CRB_ACCESS_RW, 0xFFFFFFFFu, NULL),
};

#define FIELD_ROW(m, t, r, msk, flg, rst, follows) \
    { .name = #m, .offset = offsetof(struct crb_locality, m), \
      .type = CRB_FIELD_##t, .reg = r, .mask = msk, .flag = flg, \
      .reset = CRB_RESET_##rst, .follows_command = follows },

const struct crb_field crb_fields[] = {
    CRB_LOCALITY_FIELDS(FIELD_ROW)
};
const unsigned crb_nfields = sizeof(crb_fields) / sizeof(crb_fields[0]);

unsigned crb_fields_snapshot_len(void)
{
    unsigned len = 4; /* the flags word of the bools */

    for (unsigned i = 0; i < crb_nfields; i++)
        if (crb_fields[i].type != CRB_FIELD_BOOL)
            len += crb_fields[i].type == CRB_FIELD_U64 ? 8 : 4;
    return len;
}

const char *crb_reg_name(uint32_t reg)
{
    if (reg % 4 == 0 && reg / 4 < CRB_NUM_REGS && crb_regs[reg / 4].name)
        return crb_regs[reg / 4].name;
    return "reserved";
}

static void add_word(char *out, size_t n, const char *word)
{
    size_t used = strlen(out);

    if (used < n)
        snprintf(out + used, n - used, "%s%s", used ? " " : "", word);
}

void crb_describe_reg(uint32_t reg, uint32_t v, char *out, size_t n)
{
    const struct crb_bits *b;
    char tmp[40];

    out[0] = '\0';
    if (reg % 4 || reg / 4 >= CRB_NUM_REGS || !crb_regs[reg / 4].bits)
        return;
    for (b = crb_regs[reg / 4].bits; b->name; b++) {
        if (b->value) {
            if ((v & b->requires) != b->requires)
                continue;
            snprintf(tmp, sizeof(tmp), "%s=%u", b->name,
                     (v & b->mask) >> __builtin_ctz(b->mask));
            add_word(out, n, tmp);
        } else if (b->equals ? (v & b->mask) == b->equals : (v & b->mask)) {
            add_word(out, n, b->name);
        }
    }
}
