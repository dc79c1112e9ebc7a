/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A backend whose whole state is the number of commands it executed, so a
 * test can tell a lost or a repeated command from the responses: each
 * response carries the command's tag (its first parameter dword) and the
 * count after it ran. save_state/load_state carry the count.
 */
#ifndef TPMCRB_COUNTER_BACKEND_H
#define TPMCRB_COUNTER_BACKEND_H

#include "tpmcrb.h"

#include <stdatomic.h>

#define COUNTER_RSP_LEN 18u

struct counter_backend {
    struct tpmcrb_backend be;
    struct tpmcrb_backend_ops ops;  /* per instance: tests rename it */
    _Atomic uint32_t count;         /* the TPM's state */
    _Atomic unsigned executed;      /* execute() calls on this instance */
    _Atomic bool block;             /* execute() waits while set */
    _Atomic unsigned delay_us;      /* execute() takes this long */
    int fail_load, fail_save;       /* returned when < 0 */
    int fail_exec;                  /* execute() fails with it when < 0 */
    bool established;
};

/* @with_state: offer save_state/load_state. */
void counter_backend_init(struct counter_backend *cb, bool with_state);

/* A 14-byte command carrying @tag; returns its length. */
uint32_t counter_command(uint8_t *buf, uint32_t tag);
/* Tag and count from a response; false when it is not a counter response. */
bool counter_response(const uint8_t *rsp, uint32_t len, uint32_t *tag,
                      uint32_t *count);

#endif
