/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The idle hub's wire protocol, shared by the poll thread's client
 * (hub_client.c) and the hub (`tpmcrb serve-hub`). One SOCK_SEQPACKET
 * connection per device; every message is one struct hub_msg.
 *
 *   device -> hub  HELLO  with the shared memory file (SCM_RIGHTS), the
 *                         file offset of the register pages and how many
 *                         localities (pages) there are; answered by ACK,
 *                         or the hub closes the connection (refused).
 *   device -> hub  ARM    "I am going to sleep": the hub takes the pages'
 *                         register part as it is now and answers ACK; the
 *                         device then checks its pages once more (a guest
 *                         write before the hub's copy is the device's to
 *                         see, one after it the hub's) and sleeps.
 *   hub -> device  WAKE   the register part differs from the hub's copy:
 *                         a guest wrote. The hub stops watching until the
 *                         next ARM.
 *
 * A device whose hub dies sees its connection end and polls by itself; a
 * hub that does not answer ARM in time is given up the same way.
 */
#ifndef TPMCRB_HUB_PROTO_H
#define TPMCRB_HUB_PROTO_H

#include "tpmcrb.h"

#include <stdint.h>

#define HUB_MAGIC   0x42554854u /* "THUB" */
#define HUB_VERSION 1u

enum hub_msg_type {
    HUB_HELLO = 1,
    HUB_ARM   = 2,
    HUB_ACK   = 3,
    HUB_WAKE  = 4,
};

struct hub_msg {
    uint32_t magic;
    uint16_t version;
    uint16_t type;         /* enum hub_msg_type */
    uint32_t seq;          /* HELLO, ARM: chosen by the device; ACK: echoed */
    uint32_t localities;   /* HELLO: register pages, one per locality */
    uint64_t offset;       /* HELLO: file offset of the first page */
};

/* What the hub compares in each locality's page: the registers, the part
 * of the page the device compares with what it published to find guest
 * writes (the data buffer after it is written before START, a register). */
#define HUB_WATCH_BYTES TPMCRB_REG_DATA_BUFFER

#endif
