/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the host monitor and the freestanding guest agree on: the guest's
 * memory map, its I/O ports and the job records it works through.
 *
 * The guest runs in 32-bit protected mode with flat segments and no
 * paging, so guest-physical addresses are the pointers it uses and the
 * device may sit anywhere below 4 GiB (the x86 default 0xFED40000 works).
 *
 * The host writes a mailbox at ABI_MAILBOX: the device base and a list of
 * jobs. The guest runs them in order; after each it stores the results in
 * the job record and writes the job's index to ABI_PORT_DONE ("job i done:
 * see its record for status, response length and TPM rc"). After the last
 * job it halts.
 */
#ifndef KVM_VMM_GUEST_ABI_H
#define KVM_VMM_GUEST_ABI_H

#include <stdint.h>

/* Guest memory map (one RAM slot from 0 to ABI_RAM_SIZE). */
#define ABI_LOAD_ADDR   0x10000u  /* flat binary, entry at its first byte */
#define ABI_STACK_TOP   0x80000u
#define ABI_MAILBOX     0x100000u /* struct abi_mailbox */
#define ABI_DATA        0x110000u /* commands and responses, host-allocated */
#define ABI_RAM_SIZE    0x400000u

/* I/O ports (out from the guest; each is one exit). */
#define ABI_PORT_CONSOLE 0xE9u /* byte: one character of guest log */
#define ABI_PORT_DONE    0xF0u /* dword: index of the job just finished */
#define ABI_PORT_SLEEP   0xF4u /* dword: sleep this many microseconds; 0 is
                                  a "still polling" tick that lets the host
                                  check its deadline */

#define ABI_MAGIC 0x54504d43u  /* "TPMC" */

enum abi_op {
    /* One TPM command through the CRB protocol in Linux's order, repeated
     * `repeat` times; the last response is kept. */
    ABI_OP_TRANSMIT = 1,
    /* A single write of `size` bytes of `value` at device offset `addr`. */
    ABI_OP_WRITE,
    /* A single read of `size` bytes at device offset `addr` into result. */
    ABI_OP_READ,
    /* Copy `len` bytes from guest address `src` to device offset `addr`,
     * with dword stores like a guest's memcpy_toio. */
    ABI_OP_COPY,
};

/* Job flags */
#define ABI_F_LINUX_TIMING 1u /* sleep like Linux: 1 ms when the first status
                                 read shows START still set, 50 us per
                                 register-wait retry */

/* Job status, written by the guest */
enum abi_status {
    ABI_PENDING = 0,
    ABI_OK,
    ABI_ERR_FATAL,     /* CTRL_STS.tpmSts set after START */
    ABI_ERR_RSP_SIZE,  /* response header size outside 10..cap */
    ABI_ERR_CMD_SIZE,  /* command larger than the advertised buffer */
    ABI_ERR_BAD_JOB,
};

struct abi_job {
    /* set by the host */
    uint32_t op;
    uint32_t flags;
    uint32_t locality;
    uint32_t repeat;
    uint32_t addr;      /* device offset (WRITE, READ, COPY) */
    uint32_t size;      /* access width (WRITE, READ) */
    uint32_t value;     /* WRITE */
    uint32_t src;       /* command (TRANSMIT) or data (COPY) in guest RAM */
    uint32_t len;
    uint32_t rsp;       /* where TRANSMIT puts the response */
    uint32_t rsp_cap;
    /* set by the guest */
    uint32_t status;
    uint32_t rsp_len;
    uint32_t result;       /* READ: the value read */
    uint32_t ready_first;  /* commands whose first START read saw it clear */
    uint32_t pad;
};

struct abi_mailbox {
    uint32_t magic;
    uint32_t base;      /* guest-physical address of locality 0 */
    uint32_t njobs;
    uint32_t pad;
    struct abi_job jobs[];
};

#define ABI_MAX_JOBS ((ABI_DATA - ABI_MAILBOX - sizeof(struct abi_mailbox)) / \
                      sizeof(struct abi_job))

#endif
