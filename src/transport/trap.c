/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trap transports. ROM-device mode: the VMM maps the register pages
 * read-only, so the guest reads them without an exit and every write traps
 * to tpmcrb_write(). Full-trap mode: reads trap as well, to tpmcrb_read().
 * A write that starts a command waits, bounded, for its completion, so
 * that the guest's first status read usually finds the response.
 */
#include "core/device_io.h"

#include <errno.h>

int tpmcrb_write(struct tpmcrb_device *dev, uint64_t offset, unsigned size,
                 uint64_t value)
{
    uint32_t seq;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        return -EINVAL;
    if (device_guest_write(dev, offset, size, value, &seq))
        device_wait_started(dev, seq);
    return 0;
}

uint64_t tpmcrb_read(struct tpmcrb_device *dev, uint64_t offset, unsigned size)
{
    return device_guest_read(dev, offset, size);
}
