/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device the snapshot and device-state tests move state between: a
 * counter backend, a guest driving registers, a command tagged so that
 * its response says which command it was and how many ran.
 */
#ifndef TPMCRB_TESTS_DEVICE_FX_H
#define TPMCRB_TESTS_DEVICE_FX_H

#include "counter_backend.h"
#include "tpmcrb.h"

#include <stdbool.h>
#include <stdint.h>

struct fx {
    struct counter_backend cb;
    struct tpmcrb_config cfg;
    struct tpmcrb_device *dev;
};

/* @with_state: the backend saves and loads a state of its own. */
struct fx *open_bound(enum tpmcrb_layout layout, unsigned nloc,
                      bool with_state, uint64_t base, uint32_t bound);
/* With state, at the x86 base, a START waiting up to 200 ms. */
struct fx *open_std(enum tpmcrb_layout layout, unsigned nloc);
void close_fx(struct fx *f);

uint32_t rd(struct fx *f, unsigned loc, uint32_t reg);
void wr(struct fx *f, unsigned loc, uint32_t reg, uint32_t v);
/* Locality, cmdReady, command with @tag, START; no wait. */
void start_command(struct fx *f, unsigned loc, uint32_t tag);
/* The device idle, @loc's response that of command @tag, @count run. */
void expect_response(struct fx *f, unsigned loc, uint32_t tag,
                     uint32_t count);
/* Every kind of register state a guest can leave behind. */
void busy_registers(struct fx *f);

#endif
