/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll thread seen from inside, for tests: how each sleep on the idle
 * hub ended, and shorter timings so that a test can make thousands of
 * hand-overs to the hub in seconds.
 */
#ifndef TPMCRB_POLL_INTERNAL_H
#define TPMCRB_POLL_INTERNAL_H

#include "tpmcrb.h"

#include <stdint.h>

struct poller_counts {
    uint64_t arms;            /* the hub acknowledged an ARM */
    uint64_t arm_recheck;     /* the look after that ACK found a guest write */
    uint64_t hub_wakes;       /* woken by the hub; the look found a write */
    uint64_t hub_stale;       /* woken by the hub; nothing written */
    uint64_t watchdog_quiet;  /* the watchdog ended a sleep; nothing written */
    uint64_t watchdog_found;  /* the watchdog found a write the hub had not
                                 reported: made in the hub's last period
                                 before the watchdog, or reported late, or
                                 lost */
    uint64_t hub_lost;        /* the hub's connection ended during a sleep */
};

void poller_get_counts(struct tpmcrb_poller *p, struct poller_counts *out);
/* Quiet time before the hand-over to the hub, and the watchdog of a sleep
 * on the hub; any time, from any thread. */
void poller_set_timing(struct tpmcrb_poller *p, uint64_t hand_off_ns,
                       uint64_t watchdog_ns);

#endif
