/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A TPM resource manager for one `tpmcrb pipe` client, in the manner of the
 * kernel's /dev/tpmrm0: between the client's commands none of its transient
 * objects or sessions is loaded in the TPM. Before a command the manager
 * loads (TPM2_ContextLoad) what the command names; after it, it saves
 * (TPM2_ContextSave) everything it loaded and flushes the objects. Objects
 * get virtual handles (0x80ffffNN) that stay stable while the TPM's own
 * handles change; session handles are the TPM's (they do not change).
 * So any number of clients share the TPM's three object and three session
 * slots, one command at a time.
 *
 * A session the client saves itself (TPM2_ContextSave) is its own again
 * once the response has reached it: the manager then forgets it, so that a
 * later process can load it (tpm2-tools keeps sessions in files between
 * calls). Until then it is still the client's to flush: a client that never
 * got the context can never load or flush it.
 *
 * What a client holds must be known if its pipe dies at any point: the
 * record (set with rm_set_recorder()) is told of new sessions before the
 * manager context-saves them. A session the TPM holds for a dead client is
 * then either loaded (rm_flush_loaded() finds it) or recorded.
 */
#ifndef TPMCRB_RESOURCE_MANAGER_H
#define TPMCRB_RESOURCE_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#define RM_MAX_OBJECTS   64u
#define RM_MAX_SESSIONS  64u
#define RM_VHANDLE_BASE  0x80ffff00u
#define RM_BUF_SIZE      4096u

/* Send one command to the TPM; a negative errno when the device failed
 * (the pipe then stops). */
typedef int (*rm_send_fn)(void *ctx, const uint8_t *cmd, uint32_t len,
                          uint8_t *rsp, uint32_t cap, uint32_t *rsp_len);

struct rm_context {
    uint8_t *blob;         /* TPMS_CONTEXT as ContextSave returned it */
    uint32_t len;
};

struct rm_object {
    bool used, loaded;
    uint32_t phandle;      /* the TPM's handle while loaded */
    struct rm_context ctx; /* while not loaded */
};

struct rm_session {
    uint32_t handle;
    bool loaded;
    bool handed;           /* saved by the client, response not delivered */
    struct rm_context ctx;
};

/* Records the client's sessions (rm_sessions()) where a dead client's
 * are found. */
typedef void (*rm_record_fn)(void *ctx);

struct resource_manager {
    rm_send_fn send;
    void *send_ctx;
    rm_record_fn record;
    void *record_ctx;
    struct rm_object objects[RM_MAX_OBJECTS]; /* slot i: RM_VHANDLE_BASE + i */
    struct rm_session sessions[RM_MAX_SESSIONS];
    unsigned nsessions;
    bool sessions_changed; /* since the last rm_sessions() */
    uint8_t cmd[RM_BUF_SIZE], rsp[RM_BUF_SIZE];
};

void rm_init(struct resource_manager *rm, rm_send_fn send, void *ctx);
void rm_free(struct resource_manager *rm);
/* @record is called inside rm_command() when the client holds sessions it
 * did not hold before, before any of them is context-saved. */
void rm_set_recorder(struct resource_manager *rm, rm_record_fn record,
                     void *ctx);

/* One client command. @cmd is rewritten in place (virtual handles become
 * the TPM's). The response in @rsp is what the client gets: a TPM error
 * when a handle could not be loaded. Negative errno: the device failed. */
int rm_command(struct resource_manager *rm, uint8_t *cmd, uint32_t len,
               uint8_t *rsp, uint32_t cap, uint32_t *rsp_len);

/* The last response reached the client: sessions it saved itself are its
 * own from now on (the manager forgets them). */
void rm_delivered(struct resource_manager *rm);

/* Flush everything the client holds (its exit, like closing tpmrm0),
 * sessions it saved in a response it never got included. */
int rm_release(struct resource_manager *rm);

/* The sessions the client holds in the TPM (loaded or saved by the
 * manager, or saved by the client in a response not yet delivered): what
 * a dead pipe leaves behind. Clears sessions_changed. */
unsigned rm_sessions(struct resource_manager *rm, uint32_t *out,
                     unsigned cap);

/* Flush @n handles that a dead client left (errors ignored: the TPM may
 * have dropped them already). */
int rm_flush_handles(struct resource_manager *rm, const uint32_t *handles,
                     unsigned n);

/* Flush every loaded transient object and every loaded session: between
 * two managed commands nothing is loaded, so whatever is was left by a
 * client that died in the middle of a command. */
int rm_flush_loaded(struct resource_manager *rm);

bool rm_is_transient(uint32_t handle);
bool rm_is_session(uint32_t handle);

#endif
