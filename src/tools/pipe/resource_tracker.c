/* SPDX-License-Identifier: BSD-3-Clause */
/* Handles a pipe client leaves behind, for the flush at exit (like tpmrm). */
#include "tools/pipe/resource_tracker.h"
#include "tools/tool.h"

#include <string.h>

/* Command codes not in core/tpm_cmd.h (TPM 2.0 Part 2, TPM_CC). */
#define CC_SEQUENCE_COMPLETE       0x13Eu
#define CC_HMAC_START              0x15Bu /* also TPM2_MAC_Start */
#define CC_EVENT_SEQUENCE_COMPLETE 0x185u

#define TPM_RS_PW         0x40000009u
#define ATTR_CONTINUE     0x01u
#define MAX_CMD_HANDLES   3u

void rt_init(struct resource_tracker *rt)
{
    memset(rt, 0, sizeof(*rt));
}

bool rt_is_transient(uint32_t h)
{
    return (h >> 24) == 0x80;
}

bool rt_is_session(uint32_t h)
{
    return (h >> 24) == 0x02 || (h >> 24) == 0x03;
}

bool rt_contains(const struct resource_tracker *rt, uint32_t h)
{
    for (unsigned i = 0; i < rt->count; i++)
        if (rt->handles[i] == h)
            return true;
    return false;
}

static void add(struct resource_tracker *rt, uint32_t h)
{
    if (!(rt_is_transient(h) || rt_is_session(h)) || rt_contains(rt, h))
        return;
    if (rt->count == RT_MAX_HANDLES) /* the TPM has far fewer slots */
        memmove(rt->handles, rt->handles + 1,
                (RT_MAX_HANDLES - 1) * sizeof(rt->handles[0]));
    else
        rt->count++;
    rt->handles[rt->count - 1] = h;
}

static void drop(struct resource_tracker *rt, uint32_t h)
{
    for (unsigned i = 0; i < rt->count; i++) {
        if (rt->handles[i] != h)
            continue;
        memmove(rt->handles + i, rt->handles + i + 1,
                (rt->count - i - 1) * sizeof(rt->handles[0]));
        rt->count--;
        return;
    }
}

/* Walk a command's authorization area: (handle, nonce, attributes, hmac)
 * per session, exactly @size bytes. With @rt, drop the sessions whose
 * continueSession is clear: the TPM flushed them after the command. */
static bool walk_sessions(const uint8_t *p, uint32_t size,
                          struct resource_tracker *rt)
{
    uint32_t pos = 0;

    while (pos < size) {
        uint32_t h, nonce, hmac;
        uint8_t attrs;

        if (size - pos < 6)
            return false;
        h = tpm_be32(p + pos);
        if (h != TPM_RS_PW && !rt_is_session(h))
            return false;
        nonce = tpm_be16(p + pos + 4);
        pos += 6;
        if (size - pos < nonce + 3u)
            return false;
        pos += nonce;
        attrs = p[pos];
        hmac = tpm_be16(p + pos + 1);
        pos += 3;
        if (size - pos < hmac)
            return false;
        pos += hmac;
        if (rt && rt_is_session(h) && !(attrs & ATTR_CONTINUE))
            drop(rt, h);
    }
    return true;
}

/* The number of handles before the authorization area depends on the
 * command; instead of a table of every command, try 0..3 handles and take
 * the one layout whose area parses exactly into valid session entries. */
static void drop_finished_sessions(struct resource_tracker *rt,
                                   const uint8_t *cmd, uint32_t len)
{
    for (uint32_t n = 0; n <= MAX_CMD_HANDLES; n++) {
        uint32_t off = TPM_HEADER_SIZE + 4 * n, size;

        if (off + 4 > len)
            return;
        size = tpm_be32(cmd + off);
        if (size < 9 || size > len - off - 4)
            continue;
        if (walk_sessions(cmd + off + 4, size, NULL)) {
            walk_sessions(cmd + off + 4, size, rt);
            return;
        }
    }
}

static uint32_t handle_at(const uint8_t *buf, uint32_t len, uint32_t off)
{
    return off + 4 <= len ? tpm_be32(buf + off) : 0;
}

void rt_observe(struct resource_tracker *rt, const uint8_t *cmd,
                uint32_t cmd_len, const uint8_t *rsp, uint32_t rsp_len)
{
    uint32_t code, h;

    if (cmd_len < TPM_HEADER_SIZE || rsp_len < TPM_HEADER_SIZE ||
        tpm_hdr_code(rsp) != TPM_RC_SUCCESS)
        return;
    code = tpm_hdr_code(cmd);
    if (tpm_be16(cmd) == TPM_ST_SESSIONS)
        drop_finished_sessions(rt, cmd, cmd_len);
    switch (code) {
    case TPM_CC_CreatePrimary:
    case TPM_CC_Load:
    case TPM_CC_LoadExternal:
    case TPM_CC_CreateLoaded:
    case TPM_CC_StartAuthSession:
    case TPM_CC_ContextLoad:
    case TPM_CC_HashSequenceStart:
    case CC_HMAC_START:
        /* The new handle opens the response's handle area. */
        if ((h = handle_at(rsp, rsp_len, TPM_HEADER_SIZE)))
            add(rt, h);
        break;
    case TPM_CC_FlushContext:
        drop(rt, handle_at(cmd, cmd_len, TPM_HEADER_SIZE));
        break;
    case TPM_CC_ContextSave:
        /* A saved session is no longer loaded and must stay usable; a
         * saved object is still loaded and still ours to flush. */
        h = handle_at(cmd, cmd_len, TPM_HEADER_SIZE);
        if (rt_is_session(h))
            drop(rt, h);
        break;
    case CC_SEQUENCE_COMPLETE:
        drop(rt, handle_at(cmd, cmd_len, TPM_HEADER_SIZE));
        break;
    case CC_EVENT_SEQUENCE_COMPLETE:
        drop(rt, handle_at(cmd, cmd_len, TPM_HEADER_SIZE + 4));
        break;
    default:
        break;
    }
}
