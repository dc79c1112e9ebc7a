/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CRB register map of one locality's control area (PC Client PTP,
 * CRB interface). Written once here; everything else uses these names.
 * Each locality n has its page at base + n * 0x1000.
 */
#ifndef TPMCRB_REGS_H
#define TPMCRB_REGS_H

#include <stdint.h>

/* Offsets within a locality page. */
#define CRB_LOC_STATE    0x00u /* RO */
#define CRB_LOC_CTRL     0x08u /* WO, reads 0 */
#define CRB_LOC_STS      0x0Cu /* RO */
#define CRB_INTF_ID_LO   0x30u /* RO except InterfaceSelector/IntfSelLock */
#define CRB_INTF_ID_HI   0x34u /* RO */
#define CRB_CTRL_EXT_LO  0x38u /* reserved */
#define CRB_CTRL_EXT_HI  0x3Cu
#define CRB_CTRL_REQ     0x40u /* RW, the TPM clears bits when done */
#define CRB_CTRL_STS     0x44u /* RO */
#define CRB_CTRL_CANCEL  0x48u /* RW */
#define CRB_CTRL_START   0x4Cu /* RW, the TPM clears it on completion */
#define CRB_INT_ENABLE   0x50u /* RW */
#define CRB_INT_STS      0x54u /* RW1C */
#define CRB_CMD_SIZE     0x58u
#define CRB_CMD_LADDR    0x5Cu
#define CRB_CMD_HADDR    0x60u
#define CRB_RSP_SIZE     0x64u
#define CRB_RSP_ADDR_LO  0x68u
#define CRB_RSP_ADDR_HI  0x6Cu
#define CRB_REGS_END     0x70u /* 0x70..0x7F reserved */
#define CRB_DATA_BUFFER  0x80u /* in-page buffer, to the end of the page */

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

#endif
