/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state directory of a backend: checksummed state files written
 * atomically, and a lock that serialises the processes sharing the
 * directory.
 *
 * Each file is a 48-byte header followed by the payload (little-endian):
 *   0  magic "TPMCRBST"        24 u64 link (caller-defined, e.g. the
 *   8  u32 format version         generation of a file this one pairs with)
 *  12  u32 type (caller's tag) 32 u32 payload length
 *  16  u64 generation          36 u32 flags (bit 0: sealed)
 *                              40 u64 checksum of header[0..40) + payload
 * A short, long, foreign or corrupt file is reported (naming it) and never
 * rewritten or removed automatically.
 */
#ifndef TPMCRB_STATE_STORE_H
#define TPMCRB_STATE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define STATE_HEADER_SIZE  48u
#define STATE_MAX_PAYLOAD  (16u << 20)

struct state_store;

/* What the header of a state file says. */
struct state_info {
    uint32_t type;
    uint64_t generation;
    uint64_t link;
    uint32_t len;          /* payload length */
    uint32_t flags;        /* STATE_FLAG_*: set by the store itself */
};

#define STATE_FLAG_SEALED 1u   /* payload encrypted (state_cipher) */

enum state_store_use {
    STATE_STORE_OWNER,    /* a long-lived owner: exclusive lifetime lock */
    STATE_STORE_SHARED,   /* per-command processes: shared lifetime lock */
    STATE_STORE_INSPECT,  /* no lifetime lock (tests, benchmarks, tools) */
};

/* Open @dir, creating it with mode 0700 if missing (its parent must
 * exist). The directory is refused unless it is safe (state_dir.h), and
 * with OWNER or SHARED while another user holds it. */
int state_store_open_as(const char *dir, enum state_store_use use,
                        struct state_store **out);
/* STATE_STORE_INSPECT. */
int state_store_open(const char *dir, struct state_store **out);
void state_store_close(struct state_store *st);
const char *state_store_dir(const struct state_store *st);

/* Exclusive lock on DIR/lock (flock). Held around one command or one
 * state update, never for the life of a process. */
int state_store_lock(struct state_store *st);
void state_store_unlock(struct state_store *st);

/* Open @dir as @use and take its lock, for a tool that reads or rewrites
 * a whole TPM at once; nothing stays open on failure. Undone by
 * state_store_release(). */
int state_store_open_locked(const char *dir, enum state_store_use use,
                            struct state_store **out);
/* Unlock and close. */
void state_store_release(struct state_store *st);

/* Read DIR/@name: the payload (malloc'd) and its header. -ENOENT when the
 * file does not exist (not logged); -EBADMSG when it is corrupt, truncated
 * or not of @type; other negative errnos for I/O errors. */
int state_store_read(struct state_store *st, const char *name, uint32_t type,
                     uint8_t **data, struct state_info *info);

/* The header only, checked as far as a header can be (magic, version,
 * type, file size): cheap enough to run before every command. */
int state_store_peek(struct state_store *st, const char *name, uint32_t type,
                     struct state_info *info);

/* Replace DIR/@name atomically: temporary file, write, rename. With
 * @durable the data and the directory entry are fsynced before return. */
int state_store_write(struct state_store *st, const char *name,
                      const struct state_info *info, const uint8_t *data,
                      bool durable);

/* Remove DIR/@name (no error when it does not exist). */
int state_store_remove(struct state_store *st, const char *name,
                       bool durable);

/*
 * Slotted state, for what is rewritten after every command: two files,
 * DIR/@name.0 and DIR/@name.1, each a header and payload as above,
 * overwritten in place. No create and no rename per write: on ext4 a rename
 * over an existing file starts writeback, orders of magnitude slower than a
 * pwrite. The valid slot with the higher generation is current and a
 * write goes to the other one, so a write cut short (process killed, host
 * crash) leaves the current slot intact; the checksum rejects the torn one,
 * which is then the next to be overwritten. When no slot is valid the files
 * are reported and left untouched. The caller holds the lock.
 */
int state_store_read_slots(struct state_store *st, const char *name,
                           uint32_t type, uint8_t **data,
                           struct state_info *info);
/* Highest generation among the slots' headers (not checksummed): a cheap
 * "has anything changed" test. -ENOENT when neither slot exists. */
int state_store_peek_slots(struct state_store *st, const char *name,
                           uint32_t type, struct state_info *info);
int state_store_write_slots(struct state_store *st, const char *name,
                            const struct state_info *info, const uint8_t *data,
                            bool durable);
int state_store_remove_slots(struct state_store *st, const char *name,
                             bool durable);

/*
 * Encryption at rest. The library has no cryptography of its own (a VMM
 * linking it inherits no crypto library); a tool that was given a key
 * installs a cipher here, process-wide, before it opens any state. With a
 * cipher, every file written carries the sealed payload (flag in the
 * header's reserved word, the other header fields authenticated with it);
 * a file read must be sealed and open with the key. Without one, a sealed
 * file is refused with a message saying a key is needed.
 */
struct state_cipher {
    uint32_t overhead;   /* bytes a sealed payload adds */
    /* @out has room for @len + overhead (seal) or @len (open). open
     * returns -EBADMSG when the key is wrong or the data was altered. */
    int (*seal)(void *opaque, const uint8_t *aad, uint32_t aad_len,
                const uint8_t *in, uint32_t len, uint8_t *out);
    int (*open)(void *opaque, const uint8_t *aad, uint32_t aad_len,
                const uint8_t *in, uint32_t len, uint8_t *out);
    void *opaque;
};

/* NULL: plain files again. The cipher must outlive every store. */
void state_store_set_cipher(const struct state_cipher *c);

/* The checksum used in the header (exposed for tests). */
uint64_t state_checksum(const uint8_t *hdr40, const uint8_t *data,
                        uint32_t len);

#endif
