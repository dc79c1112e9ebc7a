/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshot blobs (docs/design.md, "Snapshot format") and QEMU's tpm-crb migration layout, on a
 * bare struct crb_core: no device, no lock, no backend, so that the tool
 * can inspect and convert files with the same code the library loads them
 * with. Internal; the public API is in tpmcrb.h.
 *
 * Blob, all integers little-endian:
 *   header   magic "TPMCRBSN", u32 format version, u32 total length,
 *            u32 section count, u32 CRC-32 of the 20 bytes before it
 *   sections CONF, CORE, MEM, BKND in this order, each
 *            u32 id (4 ASCII bytes), u32 payload length, u32 CRC-32 of
 *            the payload, payload
 *   CONF     u64 base, u32 layout, u32 localities
 *   CORE     u32 flags (idle, fatal, established, in flight), s32 active
 *            locality, u32 interface selector bits, u32 locality and
 *            u32 length of the command in flight; per locality the fields
 *            of the register table (core/reg_table.c) in its order: u32
 *            flags (seized, requesting), u32 cancel, start, int_enable,
 *            int_sts, cmd_size, rsp_size, u64 cmd_addr, rsp_addr; the
 *            command bytes
 *   MEM      the register pages (with the in-page buffers), then the
 *            split layout's buffer page
 *   BKND     u32 name length, backend name, the backend's own state blob;
 *            an empty name means "no backend state" (the backend is left
 *            as it is when loading)
 */
#ifndef TPMCRB_SNAPSHOT_H
#define TPMCRB_SNAPSHOT_H

#include "core/crb.h"

#include <stddef.h>

#define SNAP_MAGIC            "TPMCRBSN"
#define SNAP_MAGIC_LEN        8u
#define SNAP_VERSION          1u
#define SNAP_HEADER_LEN       24u
#define SNAP_SECTION_HDR_LEN  12u
#define SNAP_NSECTIONS        4u
#define SNAP_BACKEND_NAME_MAX 31u

struct snap_section {
    char id[5];
    uint32_t len, crc;
    size_t offset;               /* of the payload within the blob */
};

/* A parsed and checked blob. The pointers point into the blob. */
struct snap_view {
    uint32_t version;
    size_t size;
    struct snap_section sec[SNAP_NSECTIONS];
    /* configuration */
    uint64_t base;
    enum tpmcrb_layout layout;
    unsigned nloc;
    /* core */
    int active;
    bool idle, fatal, established, busy;
    uint32_t intf_sel;
    unsigned busy_loc;
    uint32_t cmd_len;
    const uint8_t *cmd;
    unsigned reset_est_pending;  /* locality + 1 of a resetEstablishment held
                                    with the command in flight, or 0 */
    struct crb_locality loc[TPMCRB_MAX_LOCALITIES];
    /* memory (whole pages) or, from a device state, the flat buffers or
     * NULL; and the backend */
    const uint8_t *mem;
    size_t mem_len;
    const uint8_t *buffers;
    char be_name[SNAP_BACKEND_NAME_MAX + 1];
    const uint8_t *be_state;
    size_t be_len;
};

/* CRC-32 (IEEE 802.3, reflected, as in zlib and PNG). */
uint32_t snap_crc32(const uint8_t *p, size_t len);

/* Check everything in @blob; 0 and *v filled, or a negative errno after
 * logging what is wrong: -EBADMSG (not a snapshot, truncated, checksum,
 * inconsistent content), -EPROTONOSUPPORT (format version). */
int snap_parse(const uint8_t *blob, size_t len, struct snap_view *v);

/* Serialise @c (lock held, no command with the backend) and a backend
 * state blob named @be_name ("" for none). *out is malloc'd. */
int snap_encode(const struct crb_core *c, const char *be_name,
                const uint8_t *be_state, size_t be_len,
                uint8_t **out, size_t *out_len);

/* The checks of a decoded state that do not depend on its encoding (a
 * snapshot's CORE section, a struct tpmcrb_device_state): the state must
 * be one a core of v's configuration can be in. Messages start with
 * @what; @loc_flags_known is false when a locality had flags this build
 * does not know. 0 or -EBADMSG. */
int snap_check_state(const struct snap_view *v, const char *what,
                     bool loc_flags_known);

/* -EINVAL (logged) unless @v was taken from a device configured like @c. */
int snap_check_config(const struct snap_view *v, const struct crb_core *c);

/* Make @c the state in @v (checked against @c's configuration): fields,
 * memory (v->mem, else v->buffers, else left as it is), registers. A
 * command in flight is left busy for the caller to submit. */
void snap_apply(struct crb_core *c, const struct snap_view *v);

/* The guest's command/response buffers as one run of bytes: each
 * locality's in-page buffer in turn (compat layout) or the buffer page
 * (split layout). */
size_t snap_buffers_len(enum tpmcrb_layout layout, unsigned nloc);
void snap_buffers_get(const struct crb_core *c, uint8_t *out);

/* ------------------------------------------------ struct tpmcrb_device_state */

/* Fill @st (its size already checked) from @c: no lock, no backend. */
void state_export(const struct crb_core *c, struct tpmcrb_device_state *st);
/* Check @st field by field into @v (buffers: see snap_view); 0, or
 * -EBADMSG after logging what is wrong. */
int state_parse(const struct tpmcrb_device_state *st, const uint8_t *buffers,
                struct snap_view *v);

/* Recompute the checksums of a blob whose structure is intact (tests and
 * fuzzers use it to reach the checks behind them). */
void snap_fix_checksums(uint8_t *blob, size_t len);

/* ------------------------------------------------ QEMU tpm-crb layout */

/*
 * QEMU's tpm-crb migrates locality 0's registers at 0x00..0x7F as 32
 * dwords (vmstate "tpm-crb") and the 3968-byte command buffer behind them
 * (RAM block "tpm-crb-cmd"); QEMU 7.2 and the series agree. The file form
 * used by `tpmcrb state` is the 4 KiB page they make together: 32
 * little-endian dwords, then the buffer.
 */
#define QEMU_CRB_NUM_REGS  32u
#define QEMU_CRB_PAGE_SIZE TPMCRB_PAGE_SIZE

int qemu_check_export(const struct crb_core *c);
void qemu_export(const struct crb_core *c, uint32_t *regs, uint8_t *buffer);
int qemu_check_import(const struct crb_core *c, const uint32_t *regs);
/* A START set in @regs runs the command in @buffer again through the
 * core's START rules (QEMU drains commands before saving, so only a
 * hand-made state has one). */
void qemu_import(struct crb_core *c, const uint32_t *regs,
                 const uint8_t *buffer);

/* ------------------------------------------------ scratch cores (tools) */

/* A core with its own memory and no backend, for reading and writing
 * files without a device. A START only marks the command in flight. */
int snap_scratch_init(struct crb_core *c, uint64_t base,
                      enum tpmcrb_layout layout, unsigned nloc);
void snap_scratch_free(struct crb_core *c);

#endif
