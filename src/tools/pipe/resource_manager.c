/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-client resource manager of `tpmcrb pipe` (virtual handles, like tpmrm). */
#include "tools/pipe/resource_manager.h"
#include "tools/pipe/command_handles.h"
#include "tools/tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Command codes and values of TPM 2.0 Part 2 not in util/tpm_cmd.h. */
#define CC_SEQUENCE_COMPLETE       0x13Eu
#define CC_EVENT_SEQUENCE_COMPLETE 0x185u
#define TPM_RS_PW                  0x40000009u
#define TPM_CAP_HANDLES            0x00000001u
#define ATTR_CONTINUE              0x01u
#define MAX_AUTHS                  3u

/* Response codes: format-1 handle/parameter errors carry the position. */
#define RC_OBJECT_MEMORY   0x902u
#define RC_SESSION_MEMORY  0x903u
#define RC_REFERENCE_H0    0x910u
#define RC_REFERENCE_S0    0x918u
#define RC_HANDLE_N(n)     (TPM_RC_HANDLE | ((uint32_t)(n) << 8))
#define RC_HANDLE_P1       (TPM_RC_HANDLE | 0x040u | 0x100u)

bool rm_is_transient(uint32_t h)
{
    return (h >> 24) == 0x80;
}

bool rm_is_session(uint32_t h)
{
    return (h >> 24) == 0x02 || (h >> 24) == 0x03;
}

/* Handle errors say "this handle does not exist (any more)": the TPM flushed
 * it (continueSession clear, a sequence completed, a reset). */
static bool rc_is_gone(uint32_t rc)
{
    if (rc & 0x080u) /* format 1: the error number sits in bits 0-5 */
        return (rc & 0x3Fu) == (TPM_RC_HANDLE & 0x3Fu);
    return (rc & ~7u) == RC_REFERENCE_H0 || (rc & ~7u) == RC_REFERENCE_S0;
}

void rm_init(struct resource_manager *rm, rm_send_fn send, void *ctx)
{
    memset(rm, 0, sizeof(*rm));
    rm->send = send;
    rm->send_ctx = ctx;
}

void rm_set_recorder(struct resource_manager *rm, rm_record_fn record,
                     void *ctx)
{
    rm->record = record;
    rm->record_ctx = ctx;
}

static void context_clear(struct rm_context *c)
{
    free(c->blob);
    c->blob = NULL;
    c->len = 0;
}

void rm_free(struct resource_manager *rm)
{
    for (unsigned i = 0; i < RM_MAX_OBJECTS; i++)
        context_clear(&rm->objects[i].ctx);
    for (unsigned i = 0; i < rm->nsessions; i++)
        context_clear(&rm->sessions[i].ctx);
    rm->nsessions = 0;
}

/* ------------------------------------------------------- TPM commands */

/* One command of the manager's own; returns the response code, or a
 * negative errno when the device failed. */
static long own_command(struct resource_manager *rm, uint32_t code,
                        const uint8_t *params, uint32_t params_len)
{
    uint32_t len = tpm_build_command(rm->cmd, sizeof(rm->cmd), code, params,
                                     params_len);
    int err;

    if (!len)
        return -EMSGSIZE;
    err = rm->send(rm->send_ctx, rm->cmd, len, rm->rsp, sizeof(rm->rsp),
                   &len);
    if (err < 0)
        return err;
    if (len < TPM_HEADER_SIZE)
        return -EPROTO;
    return (long)tpm_hdr_code(rm->rsp);
}

static long flush(struct resource_manager *rm, uint32_t h)
{
    uint8_t param[4];

    tpm_put_be32(param, h);
    return own_command(rm, TPM_CC_FlushContext, param, sizeof(param));
}

/* ContextSave @h into @c. */
static long save(struct resource_manager *rm, uint32_t h, struct rm_context *c)
{
    uint8_t param[4];
    uint32_t n;
    long rc;

    tpm_put_be32(param, h);
    rc = own_command(rm, TPM_CC_ContextSave, param, sizeof(param));
    if (rc != 0)
        return rc;
    n = tpm_hdr_size(rm->rsp);
    if (n <= TPM_HEADER_SIZE || n > sizeof(rm->rsp))
        return -EPROTO;
    n -= TPM_HEADER_SIZE;
    context_clear(c);
    if (!(c->blob = malloc(n)))
        return -ENOMEM;
    memcpy(c->blob, rm->rsp + TPM_HEADER_SIZE, n);
    c->len = n;
    return 0;
}

/* ContextLoad @c; the TPM's handle in *h. */
static long load(struct resource_manager *rm, const struct rm_context *c,
                 uint32_t *h)
{
    long rc = own_command(rm, TPM_CC_ContextLoad, c->blob, c->len);

    if (rc != 0)
        return rc;
    if (tpm_hdr_size(rm->rsp) < TPM_HEADER_SIZE + 4)
        return -EPROTO;
    *h = tpm_be32(rm->rsp + TPM_HEADER_SIZE);
    return 0;
}

/* ------------------------------------------------------------- tables */

static struct rm_object *object_of(struct resource_manager *rm, uint32_t vh)
{
    uint32_t i = vh - RM_VHANDLE_BASE;

    if (vh < RM_VHANDLE_BASE || i >= RM_MAX_OBJECTS || !rm->objects[i].used)
        return NULL;
    return &rm->objects[i];
}

static void object_drop(struct rm_object *o)
{
    context_clear(&o->ctx);
    memset(o, 0, sizeof(*o));
}

static struct rm_session *session_of(struct resource_manager *rm, uint32_t h)
{
    for (unsigned i = 0; i < rm->nsessions; i++)
        if (rm->sessions[i].handle == h)
            return &rm->sessions[i];
    return NULL;
}

static void session_drop(struct resource_manager *rm, uint32_t h)
{
    struct rm_session *s = session_of(rm, h);

    if (!s)
        return;
    context_clear(&s->ctx);
    *s = rm->sessions[--rm->nsessions];
    memset(&rm->sessions[rm->nsessions], 0, sizeof(*s));
    rm->sessions_changed = true;
}

/* A session the TPM just created or loaded for the client. */
static bool session_add(struct resource_manager *rm, uint32_t h)
{
    struct rm_session *s = session_of(rm, h);

    if (s) {
        s->loaded = true;
        s->handed = false;
        context_clear(&s->ctx);
        return true;
    }
    if (rm->nsessions == RM_MAX_SESSIONS)
        return false;
    s = &rm->sessions[rm->nsessions++];
    memset(s, 0, sizeof(*s));
    s->handle = h;
    s->loaded = true;
    rm->sessions_changed = true;
    return true;
}

/* ------------------------------------------------ before the command */

/* Load what the client's handle @h needs; *out is the TPM's handle. The
 * response code of a failure is the one for the client. */
static long make_present(struct resource_manager *rm, uint32_t h,
                         uint32_t *out, uint32_t missing_rc)
{
    struct rm_object *o;
    struct rm_session *s;
    long rc;

    *out = h;
    if (rm_is_transient(h)) {
        if (!(o = object_of(rm, h)))
            return missing_rc;
        if (!o->loaded) {
            if ((rc = load(rm, &o->ctx, &o->phandle)) != 0)
                return rc;
            o->loaded = true;
        }
        *out = o->phandle;
    } else if (rm_is_session(h) && (s = session_of(rm, h)) && !s->loaded &&
               !s->handed) {
        uint32_t got;

        if ((rc = load(rm, &s->ctx, &got)) != 0)
            return rc;
        s->loaded = true;
        if (got != h) { /* session handles survive a save; be safe anyway */
            flush(rm, got);
            s->loaded = false;
            return RC_HANDLE_N(1);
        }
    }
    return 0;
}

/* The sessions of the authorization area at @off (exactly its size):
 * their handles and whether each continues. False when it does not parse
 * (the TPM will say why). */
static bool parse_auths(const uint8_t *cmd, uint32_t len, uint32_t off,
                        uint32_t *handles, bool *cont, unsigned *n)
{
    uint32_t size, pos, end;

    *n = 0;
    if (off + 4 > len)
        return false;
    size = tpm_be32(cmd + off);
    pos = off + 4;
    if (size > len - pos)
        return false;
    end = pos + size;
    while (pos < end) {
        uint32_t nonce, hmac;

        if (end - pos < 9 || *n == MAX_AUTHS)
            return false;
        handles[*n] = tpm_be32(cmd + pos);
        nonce = tpm_be16(cmd + pos + 4);
        pos += 6;
        if (end - pos < nonce + 3u)
            return false;
        pos += nonce;
        cont[*n] = cmd[pos] & ATTR_CONTINUE;
        hmac = tpm_be16(cmd + pos + 1);
        pos += 3;
        if (end - pos < hmac)
            return false;
        pos += hmac;
        (*n)++;
    }
    return true;
}

/* ------------------------------------------------- after the command */

/* GetCapability(HANDLES) over transient handles: the client's virtual
 * handles, not everybody's (the TPM's list is of no use to it). */
static bool answer_transient_handles(struct resource_manager *rm,
                                     const uint8_t *cmd, uint32_t len,
                                     uint8_t *rsp, uint32_t cap,
                                     uint32_t *rsp_len)
{
    uint32_t prop, count, n = 0, pos;

    if (len < TPM_HEADER_SIZE + 12 ||
        tpm_be32(cmd + TPM_HEADER_SIZE) != TPM_CAP_HANDLES)
        return false;
    prop = tpm_be32(cmd + TPM_HEADER_SIZE + 4);
    count = tpm_be32(cmd + TPM_HEADER_SIZE + 8);
    if (!rm_is_transient(prop) || cap < TPM_HEADER_SIZE + 9 + 4 * RM_MAX_OBJECTS)
        return false;
    pos = TPM_HEADER_SIZE + 9;
    for (uint32_t i = 0; i < RM_MAX_OBJECTS && n < count; i++) {
        if (!rm->objects[i].used || RM_VHANDLE_BASE + i < prop)
            continue;
        tpm_put_be32(rsp + pos, RM_VHANDLE_BASE + i);
        pos += 4;
        n++;
    }
    tpm_put_be16(rsp, TPM_ST_NO_SESSIONS);
    tpm_put_be32(rsp + 2, pos);
    tpm_put_be32(rsp + 6, TPM_RC_SUCCESS);
    rsp[TPM_HEADER_SIZE] = 0; /* moreData */
    tpm_put_be32(rsp + TPM_HEADER_SIZE + 1, TPM_CAP_HANDLES);
    tpm_put_be32(rsp + TPM_HEADER_SIZE + 5, n);
    *rsp_len = pos;
    return true;
}

/* A new handle in the response: the client's from now on. */
static long adopt(struct resource_manager *rm, uint8_t *rsp)
{
    uint32_t h = tpm_be32(rsp + TPM_HEADER_SIZE);

    if (rm_is_session(h)) {
        if (session_add(rm, h))
            return 0;
        flush(rm, h);
        return RC_SESSION_MEMORY;
    }
    if (!rm_is_transient(h))
        return 0;
    for (uint32_t i = 0; i < RM_MAX_OBJECTS; i++) {
        struct rm_object *o = &rm->objects[i];

        if (o->used)
            continue;
        o->used = o->loaded = true;
        o->phandle = h;
        tpm_put_be32(rsp + TPM_HEADER_SIZE, RM_VHANDLE_BASE + i);
        return 0;
    }
    flush(rm, h);
    return RC_OBJECT_MEMORY;
}

/* Bookkeeping of a successful command: what the TPM flushed, what the
 * client now holds. @vh are the command's handles as the client wrote
 * them. Returns a response code that replaces the TPM's, or 0. */
static long account(struct resource_manager *rm, uint32_t code,
                    const uint32_t *vh, unsigned nin, unsigned nout,
                    const uint8_t *cmd, uint32_t len, uint8_t *rsp,
                    uint32_t rsp_len)
{
    struct rm_object *o;
    struct rm_session *s;
    uint32_t h;

    switch (code) {
    case TPM_CC_FlushContext:
        if (len >= TPM_HEADER_SIZE + 4)
            session_drop(rm, tpm_be32(cmd + TPM_HEADER_SIZE));
        break;
    case TPM_CC_ContextSave:
        /* A saved session belongs to the client's file once it has the
         * response (rm_delivered()); a saved object is still loaded for
         * the client. */
        if (nin == 1 && rm_is_session(vh[0]) && (s = session_of(rm, vh[0]))) {
            s->loaded = false;
            s->handed = true;
            context_clear(&s->ctx);
        }
        break;
    case CC_SEQUENCE_COMPLETE:
    case CC_EVENT_SEQUENCE_COMPLETE:
        h = vh[code == CC_SEQUENCE_COMPLETE ? 0 : 1];
        if ((o = object_of(rm, h)))
            object_drop(o);
        break;
    default:
        break;
    }
    if (nout == 1 && rsp_len >= TPM_HEADER_SIZE + 4)
        return adopt(rm, rsp);
    return 0;
}

/* Save (and for objects flush) everything loaded for the client. */
static int put_away(struct resource_manager *rm)
{
    long rc;

    for (unsigned i = 0; i < RM_MAX_OBJECTS; i++) {
        struct rm_object *o = &rm->objects[i];

        if (!o->used || !o->loaded)
            continue;
        rc = save(rm, o->phandle, &o->ctx);
        if (rc < 0)
            return (int)rc;
        if (rc == 0) {
            if ((rc = flush(rm, o->phandle)) < 0)
                return (int)rc;
            o->loaded = false;
        } else if (rc_is_gone((uint32_t)rc)) {
            object_drop(o);
        } else {
            LOG_WARN("cannot save object 0x%08x (rc 0x%lx); it stays "
                     "loaded", RM_VHANDLE_BASE + i, rc);
        }
    }
    for (unsigned i = 0; i < rm->nsessions; i++) {
        struct rm_session *s = &rm->sessions[i];

        if (!s->loaded)
            continue;
        rc = save(rm, s->handle, &s->ctx);
        if (rc < 0)
            return (int)rc;
        if (rc == 0) {
            s->loaded = false;
        } else if (rc_is_gone((uint32_t)rc)) {
            session_drop(rm, s->handle);
            i--; /* the last entry moved here */
        } else {
            LOG_WARN("cannot save session 0x%08x (rc 0x%lx); it stays "
                     "loaded", s->handle, rc);
        }
    }
    return 0;
}

static uint32_t error_response(uint8_t *rsp, uint32_t rc)
{
    return tpm_error_response(rsp, rc);
}

int rm_command(struct resource_manager *rm, uint8_t *cmd, uint32_t len,
               uint8_t *rsp, uint32_t cap, uint32_t *rsp_len)
{
    uint32_t code, vh[3] = { 0, 0, 0 }, auths[MAX_AUTHS], rc;
    bool cont[MAX_AUTHS], have_auths = false, known;
    unsigned nin, nout, nauth = 0;
    long lrc = 0;
    int err;

    if (len < TPM_HEADER_SIZE)
        return rm->send(rm->send_ctx, cmd, len, rsp, cap, rsp_len);
    code = tpm_hdr_code(cmd);
    known = tpm_command_handles(code, &nin, &nout);
    if (!known || len < TPM_HEADER_SIZE + 4 * nin) {
        nin = nout = 0;
        known = false;
    }
    if (code == TPM_CC_GetCapability &&
        answer_transient_handles(rm, cmd, len, rsp, cap, rsp_len))
        return 0;
    if (code == TPM_CC_FlushContext && len >= TPM_HEADER_SIZE + 4 &&
        rm_is_transient(tpm_be32(cmd + TPM_HEADER_SIZE))) {
        /* The object is saved, not loaded: forgetting it is the flush. */
        struct rm_object *o = object_of(rm, tpm_be32(cmd + TPM_HEADER_SIZE));

        if (!o) {
            *rsp_len = error_response(rsp, RC_HANDLE_P1);
            return 0;
        }
        if (o->loaded && (lrc = flush(rm, o->phandle)) < 0)
            return (int)lrc;
        object_drop(o);
        *rsp_len = error_response(rsp, TPM_RC_SUCCESS);
        return 0;
    }
    for (unsigned i = 0; i < nin && lrc == 0; i++) {
        uint32_t phys;

        vh[i] = tpm_be32(cmd + TPM_HEADER_SIZE + 4 * i);
        lrc = make_present(rm, vh[i], &phys, RC_HANDLE_N(i + 1));
        if (lrc == 0)
            tpm_put_be32(cmd + TPM_HEADER_SIZE + 4 * i, phys);
    }
    if (known && lrc == 0 && tpm_be16(cmd) == TPM_ST_SESSIONS)
        have_auths = parse_auths(cmd, len, TPM_HEADER_SIZE + 4 * nin, auths,
                                 cont, &nauth);
    for (unsigned i = 0; i < nauth && lrc == 0; i++) {
        uint32_t same;

        if (auths[i] != TPM_RS_PW)
            lrc = make_present(rm, auths[i], &same, RC_REFERENCE_S0 + i);
    }
    if (lrc < 0)
        return (int)lrc;
    if (lrc > 0) {
        *rsp_len = error_response(rsp, (uint32_t)lrc);
    } else {
        if ((err = rm->send(rm->send_ctx, cmd, len, rsp, cap, rsp_len)) < 0)
            return err;
        rc = *rsp_len >= TPM_HEADER_SIZE ? tpm_hdr_code(rsp) : TPM_RC_FAILURE;
        if (rc == TPM_RC_SUCCESS) {
            for (unsigned i = 0; have_auths && i < nauth; i++)
                if (!cont[i])
                    session_drop(rm, auths[i]);
            lrc = account(rm, code, vh, nin, nout, cmd, len, rsp, *rsp_len);
            if (lrc < 0)
                return (int)lrc;
            if (lrc > 0)
                *rsp_len = error_response(rsp, (uint32_t)lrc);
        }
    }
    /* New sessions are recorded while still loaded: a death from here on
     * leaves them either loaded or recorded, never saved and unknown. */
    if (rm->sessions_changed && rm->record)
        rm->record(rm->record_ctx);
    return put_away(rm);
}

void rm_delivered(struct resource_manager *rm)
{
    for (unsigned i = 0; i < rm->nsessions; i++) {
        if (rm->sessions[i].handed) {
            session_drop(rm, rm->sessions[i].handle);
            i--; /* the last entry moved here */
        }
    }
}

int rm_release(struct resource_manager *rm)
{
    long rc;

    for (unsigned i = 0; i < RM_MAX_OBJECTS; i++) {
        struct rm_object *o = &rm->objects[i];

        if (o->used && o->loaded && (rc = flush(rm, o->phandle)) < 0)
            return (int)rc;
        object_drop(o);
    }
    while (rm->nsessions) {
        uint32_t h = rm->sessions[rm->nsessions - 1].handle;

        if ((rc = flush(rm, h)) < 0)
            return (int)rc;
        LOG_DEBUG("flushed session 0x%08x at exit (rc 0x%lx)", h, rc);
        session_drop(rm, h);
    }
    return 0;
}

unsigned rm_sessions(struct resource_manager *rm, uint32_t *out, unsigned cap)
{
    unsigned n = 0;

    for (unsigned i = 0; i < rm->nsessions && n < cap; i++)
        out[n++] = rm->sessions[i].handle;
    rm->sessions_changed = false;
    return n;
}

int rm_flush_handles(struct resource_manager *rm, const uint32_t *handles,
                     unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        long rc;

        if (!rm_is_transient(handles[i]) && !rm_is_session(handles[i]))
            continue;
        if ((rc = flush(rm, handles[i])) < 0)
            return (int)rc;
        LOG_DEBUG("flushed 0x%08x of a dead client (rc 0x%lx)",
                  handles[i], rc);
    }
    return 0;
}

/* The TPM's handles of one type (GetCapability(HANDLES)). */
static long list_handles(struct resource_manager *rm, uint32_t first,
                         uint32_t *out, unsigned cap, unsigned *n)
{
    uint8_t params[12];
    uint32_t count;
    long rc;

    tpm_put_be32(params, TPM_CAP_HANDLES);
    tpm_put_be32(params + 4, first);
    tpm_put_be32(params + 8, cap);
    *n = 0;
    if ((rc = own_command(rm, TPM_CC_GetCapability, params, 12)) != 0)
        return rc;
    if (tpm_hdr_size(rm->rsp) < TPM_HEADER_SIZE + 9)
        return -EPROTO;
    count = tpm_be32(rm->rsp + TPM_HEADER_SIZE + 5);
    if (count > cap ||
        tpm_hdr_size(rm->rsp) < TPM_HEADER_SIZE + 9 + 4 * count)
        return -EPROTO;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t h = tpm_be32(rm->rsp + TPM_HEADER_SIZE + 9 + 4 * i);

        if (rm_is_transient(first) ? rm_is_transient(h) : rm_is_session(h))
            out[(*n)++] = h;
    }
    return 0;
}

int rm_flush_loaded(struct resource_manager *rm)
{
    static const uint32_t kinds[] = { 0x80000000u, 0x02000000u };
    uint32_t handles[RM_MAX_OBJECTS];
    unsigned n;
    long rc;

    for (unsigned k = 0; k < 2; k++) {
        if ((rc = list_handles(rm, kinds[k], handles, RM_MAX_OBJECTS, &n)) < 0)
            return (int)rc;
        if (rc > 0) {
            LOG_WARN("cannot list the TPM's handles (rc 0x%lx)", rc);
            continue;
        }
        if (n)
            LOG_INFO("flushing %u %s left loaded by a client that died "
                     "in the middle of a command", n,
                     k ? "session(s)" : "object(s)");
        if ((rc = rm_flush_handles(rm, handles, n)) < 0)
            return (int)rc;
    }
    return 0;
}
