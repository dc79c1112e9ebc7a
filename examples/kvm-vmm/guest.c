/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest: a freestanding CRB client, loaded as a flat binary and started
 * in 32-bit protected mode by the monitor. It works through the job list
 * in the mailbox (guest_abi.h) and drives the device in the order Linux's
 * tpm_crb does for every command: request locality, cmdReady, CANCEL = 0,
 * copy the command, START, poll START, check CTRL_STS, read the response
 * header then the rest, goIdle, relinquish.
 *
 * Register reads are plain loads: whether they exit is the monitor's
 * choice of mapping, which is the point of the exercise.
 */
#include "guest_abi.h"

#include <stdbool.h>

/* CRB registers (PC Client PTP), as the guest sees them. */
#define LOC_STATE      0x00u
#define LOC_CTRL       0x08u
#define INTF_ID        0x30u
#define CTRL_REQ       0x40u
#define CTRL_STS       0x44u
#define CTRL_CANCEL    0x48u
#define CTRL_START     0x4Cu
#define CMD_SIZE       0x58u
#define CMD_LADDR      0x5Cu
#define CMD_HADDR      0x60u
#define RSP_SIZE       0x64u
#define RSP_ADDR_LO    0x68u
#define RSP_ADDR_HI    0x6Cu

#define LOC_ASSIGNED   (1u << 1)
#define LOC_VALID      (1u << 7)
#define CAP_LOCALITY   (1u << 8)  /* INTF_ID: five localities, not one */
#define REQ_ACCESS     (1u << 0)
#define RELINQUISH     (1u << 1)
#define CMD_READY      (1u << 0)
#define GO_IDLE        (1u << 1)
#define STS_FATAL      (1u << 0)

#define PAGE           0x1000u
#define LOCALITIES     5u
#define HEADER         10u
#define TICK_SPINS     65536u  /* busy polls between "still polling" ticks */

/* Linux's waits: tpm_msleep(TPM_TIMEOUT_POLL) and crb_wait_for_reg_32. */
#define STATUS_SLEEP_US 1000u
#define REG_SLEEP_US    50u

/* What Linux reads once at probe, per locality. */
struct buffers {
    uint32_t cmd, cmd_size, rsp, rsp_size;
};

static uint32_t base;
static unsigned localities;
static struct buffers buf[LOCALITIES];

/* ------------------------------------------------------------ access */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static volatile uint32_t *reg(unsigned loc, uint32_t off)
{
    return (volatile uint32_t *)(uintptr_t)(base + loc * PAGE + off);
}

static uint32_t rd(unsigned loc, uint32_t off)
{
    return *reg(loc, off);
}

static void wr(unsigned loc, uint32_t off, uint32_t v)
{
    *reg(loc, off) = v;
}

static void puts_host(const char *s)
{
    while (*s)
        outb(ABI_PORT_CONSOLE, (uint8_t)*s++);
}

static void sleep_us(uint32_t us)
{
    outl(ABI_PORT_SLEEP, us);
}

/* ------------------------------------------------------------ copies */

/* Dword stores then bytes, as memcpy_toio does: in a trapped buffer each
 * store is one exit. */
static void copy_to_io(uint32_t dst, const uint8_t *src, uint32_t len)
{
    uint32_t i = 0;

    for (; i + 4 <= len; i += 4)
        *(volatile uint32_t *)(uintptr_t)(dst + i) =
            (uint32_t)src[i] | (uint32_t)src[i + 1] << 8 |
            (uint32_t)src[i + 2] << 16 | (uint32_t)src[i + 3] << 24;
    for (; i < len; i++)
        *(volatile uint8_t *)(uintptr_t)(dst + i) = src[i];
}

static void copy_from_io(uint8_t *dst, uint32_t src, uint32_t len)
{
    uint32_t i = 0;

    for (; i + 4 <= len; i += 4) {
        uint32_t v = *(volatile uint32_t *)(uintptr_t)(src + i);

        dst[i] = (uint8_t)v;
        dst[i + 1] = (uint8_t)(v >> 8);
        dst[i + 2] = (uint8_t)(v >> 16);
        dst[i + 3] = (uint8_t)(v >> 24);
    }
    for (; i < len; i++)
        dst[i] = *(volatile uint8_t *)(uintptr_t)(src + i);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ protocol */

/* The guest has no timer: a wait never gives up here, the monitor owns the
 * deadline. The ticks give it an exit to check it on. */
static void wait_reg(unsigned loc, uint32_t off, uint32_t mask, uint32_t want,
                     bool linux_timing)
{
    uint32_t spins = 0;

    while ((rd(loc, off) & mask) != want) {
        if (linux_timing)
            sleep_us(REG_SLEEP_US);
        else if (++spins % TICK_SPINS == 0)
            sleep_us(0);
    }
}

/* Linux's tpm_try_transmit: read the status; when the command is still
 * running, sleep 1 ms before every further read. Returns whether the first
 * read already saw the response. */
static bool wait_start_clear(unsigned loc, bool linux_timing)
{
    uint32_t spins = 0;

    if (!(rd(loc, CTRL_START) & 1))
        return true;
    do {
        if (linux_timing)
            sleep_us(STATUS_SLEEP_US);
        else if (++spins % TICK_SPINS == 0)
            sleep_us(0);
    } while (rd(loc, CTRL_START) & 1);
    return false;
}

static enum abi_status read_response(const struct buffers *b,
                                     struct abi_job *j)
{
    uint8_t *rsp = (uint8_t *)(uintptr_t)j->rsp;
    uint32_t len;

    /* crb_recv: 8 bytes first, so the remaining reads stay aligned. */
    copy_from_io(rsp, b->rsp, 8);
    len = be32(rsp + 2);
    if (len < HEADER || len > j->rsp_cap || len > b->rsp_size)
        return ABI_ERR_RSP_SIZE;
    copy_from_io(rsp + 8, b->rsp + 8, len - 8);
    j->rsp_len = len;
    return ABI_OK;
}

/* One command, from locality request to relinquish. */
static enum abi_status transmit_once(struct abi_job *j)
{
    unsigned loc = j->locality;
    const struct buffers *b = &buf[loc];
    bool lt = j->flags & ABI_F_LINUX_TIMING;
    enum abi_status st;

    wr(loc, LOC_CTRL, REQ_ACCESS);
    wait_reg(loc, LOC_STATE, LOC_ASSIGNED | LOC_VALID, LOC_ASSIGNED | LOC_VALID, lt);
    wr(loc, CTRL_REQ, CMD_READY);
    wait_reg(loc, CTRL_REQ, CMD_READY, 0, lt);

    wr(loc, CTRL_CANCEL, 0);
    copy_to_io(b->cmd, (const uint8_t *)(uintptr_t)j->src, j->len);
    wr(loc, CTRL_START, 1);
    if (wait_start_clear(loc, lt))
        j->ready_first++;
    st = (rd(loc, CTRL_STS) & STS_FATAL) ? ABI_ERR_FATAL : read_response(b, j);

    wr(loc, CTRL_REQ, GO_IDLE);
    wait_reg(loc, CTRL_REQ, GO_IDLE, 0, lt);
    wr(loc, LOC_CTRL, RELINQUISH);
    wait_reg(loc, LOC_STATE, LOC_ASSIGNED | LOC_VALID, LOC_VALID, lt);
    return st;
}

static enum abi_status transmit(struct abi_job *j)
{
    enum abi_status st = ABI_OK;

    if (j->locality >= localities)
        return ABI_ERR_BAD_JOB;
    if (j->len > buf[j->locality].cmd_size)
        return ABI_ERR_CMD_SIZE;
    for (uint32_t i = 0; i < j->repeat && st == ABI_OK; i++)
        st = transmit_once(j);
    return st;
}

/* ------------------------------------------------------------ raw access */

static enum abi_status raw_write(const struct abi_job *j)
{
    uint32_t a = base + j->addr;

    switch (j->size) {
    case 1: *(volatile uint8_t *)(uintptr_t)a = (uint8_t)j->value; break;
    case 2: *(volatile uint16_t *)(uintptr_t)a = (uint16_t)j->value; break;
    case 4: *(volatile uint32_t *)(uintptr_t)a = j->value; break;
    default: return ABI_ERR_BAD_JOB;
    }
    return ABI_OK;
}

static enum abi_status raw_read(struct abi_job *j)
{
    uint32_t a = base + j->addr;

    switch (j->size) {
    case 1: j->result = *(volatile uint8_t *)(uintptr_t)a; break;
    case 2: j->result = *(volatile uint16_t *)(uintptr_t)a; break;
    case 4: j->result = *(volatile uint32_t *)(uintptr_t)a; break;
    default: return ABI_ERR_BAD_JOB;
    }
    return ABI_OK;
}

/* ------------------------------------------------------------ main */

/* Linux reads the buffer registers once, at probe. */
static void probe(void)
{
    localities = (rd(0, INTF_ID) & CAP_LOCALITY) ? LOCALITIES : 1;
    for (unsigned loc = 0; loc < localities; loc++) {
        struct buffers *b = &buf[loc];

        b->cmd_size = rd(loc, CMD_SIZE);
        b->cmd = rd(loc, CMD_LADDR);
        b->rsp_size = rd(loc, RSP_SIZE);
        b->rsp = rd(loc, RSP_ADDR_LO);
        /* Only below 4 GiB: this guest does not page. */
        if (rd(loc, CMD_HADDR) || rd(loc, RSP_ADDR_HI))
            b->cmd_size = b->rsp_size = 0;
    }
}

static enum abi_status run_job(struct abi_job *j)
{
    switch (j->op) {
    case ABI_OP_TRANSMIT: return transmit(j);
    case ABI_OP_WRITE:    return raw_write(j);
    case ABI_OP_READ:     return raw_read(j);
    case ABI_OP_COPY:
        copy_to_io(base + j->addr, (const uint8_t *)(uintptr_t)j->src, j->len);
        return ABI_OK;
    default:              return ABI_ERR_BAD_JOB;
    }
}

void guest_main(void);

void guest_main(void)
{
    struct abi_mailbox *mb = (struct abi_mailbox *)(uintptr_t)ABI_MAILBOX;

    if (mb->magic != ABI_MAGIC) {
        puts_host("no mailbox\n");
        return;
    }
    base = mb->base;
    probe();
    for (uint32_t i = 0; i < mb->njobs; i++) {
        struct abi_job *j = &mb->jobs[i];

        j->status = run_job(j);
        outl(ABI_PORT_DONE, i);
    }
}

/* Entry at the first byte of the image: a stack, a zeroed .bss, then C.
 * When C returns, halt for good: the monitor takes the HLT exit as the end
 * of the run. */
__asm__(
    ".section .text.start, \"ax\"\n"
    ".globl _start\n"
    "_start:\n"
    "    mov $0x80000, %esp\n"   /* ABI_STACK_TOP */
    "    cld\n"
    "    mov $__bss_start, %edi\n"
    "    mov $__bss_end, %ecx\n"
    "    sub %edi, %ecx\n"
    "    xor %eax, %eax\n"
    "    rep stosb\n"
    "    call guest_main\n"
    "1:  cli\n"
    "    hlt\n"
    "    jmp 1b\n"
    ".previous\n");
