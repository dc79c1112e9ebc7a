/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a `tpmcrb pipe` client left loaded in the TPM, so that the pipe can
 * flush it at exit the way the kernel's /dev/tpmrm0 does: transient objects
 * and sessions that the client created (or loaded) and neither flushed nor
 * context-saved (a saved session must survive: a later tool call loads it).
 * Only successful commands count.
 */
#ifndef TPMCRB_RESOURCE_TRACKER_H
#define TPMCRB_RESOURCE_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#define RT_MAX_HANDLES 256u

struct resource_tracker {
    uint32_t handles[RT_MAX_HANDLES];
    unsigned count;
};

void rt_init(struct resource_tracker *rt);

/* Account for one command and the response the TPM gave to it. */
void rt_observe(struct resource_tracker *rt, const uint8_t *cmd,
                uint32_t cmd_len, const uint8_t *rsp, uint32_t rsp_len);

bool rt_contains(const struct resource_tracker *rt, uint32_t handle);

/* Transient object (0x80xxxxxx) or session (0x02xxxxxx HMAC, 0x03xxxxxx
 * policy) handle. */
bool rt_is_transient(uint32_t handle);
bool rt_is_session(uint32_t handle);

#endif
