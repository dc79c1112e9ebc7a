/* SPDX-License-Identifier: BSD-3-Clause */
/* The monotonic clock and the steps of a polite spin loop, shared by the
 * executor, the poll transport and the tools. */
#ifndef TPMCRB_CLOCK_H
#define TPMCRB_CLOCK_H

#include <stdint.h>

uint64_t crb_now_ns(void);
void crb_sleep_ns(uint64_t ns);
void crb_cpu_relax(void);
/* One step of a spin loop: a pause, and every so often a yield, so that
 * spinning threads do not starve the thread they wait for when there are
 * more runnable threads than cores. */
void crb_spin_step(unsigned *spins);

#endif
