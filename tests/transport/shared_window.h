/* SPDX-License-Identifier: BSD-3-Clause */
/* The test "guests" in other processes (serve-client, hub-probe) map the
 * window a `tpmcrb serve` shares the same way: here, once. */
#ifndef TPMCRB_TESTS_SHARED_WINDOW_H
#define TPMCRB_TESTS_SHARED_WINDOW_H

#include "tools/cli/crb_driver.h"

/* Maps the default configuration's window of @path at @offset (a number
 * in C syntax) and sets @d up on it. Returns 0, or -1 with a message. */
int shared_window_driver(const char *path, const char *offset,
                         struct crb_driver *d);

#endif
