/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The door from a transport (src/transport/) into the device: everything a
 * transport needs to deliver guest accesses, and nothing of the device's
 * insides. Each call takes the device lock itself.
 *
 *   trap transports (ROM-device writes, full-trap reads and writes):
 *     device_guest_write(), then device_wait_started() when it says a
 *     command went to the backend; device_guest_read();
 *   shared-memory transports (poll): device_take_guest_writes() finds and
 *     applies what the guest stored in the register pages; with
 *     device_set_inline() the transport's own thread runs the commands
 *     they start, in device_run_pending().
 */
#ifndef TPMCRB_DEVICE_IO_H
#define TPMCRB_DEVICE_IO_H

#include "tpmcrb.h"

/* Apply a guest write of @size bytes at window @offset. True when it
 * started a command that is now with the backend; *@seq is then the job to
 * wait for. */
bool device_guest_write(struct tpmcrb_device *dev, uint64_t offset,
                        unsigned size, uint64_t value, uint32_t *seq);
/* Wait for job @seq up to the configured sync bound. */
void device_wait_started(struct tpmcrb_device *dev, uint32_t seq);
uint64_t device_guest_read(struct tpmcrb_device *dev, uint64_t offset,
                           unsigned size);

/* True when the guest had written anything. */
bool device_take_guest_writes(struct tpmcrb_device *dev);
void device_set_inline(struct tpmcrb_device *dev, bool on);
void device_run_pending(struct tpmcrb_device *dev);
/* Register pages of the window: one per locality. */
unsigned device_localities(const struct tpmcrb_device *dev);

#endif
