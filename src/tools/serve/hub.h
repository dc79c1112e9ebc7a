/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The idle hub (`tpmcrb serve-hub`): one thread watches the register pages
 * of every idle `tpmcrb serve` device on a host and wakes a device when its
 * guest writes (protocol: src/transport/hub_proto.h). Every device is a
 * stranger: its messages are checked, a file it hands over must be shared
 * memory (tmpfs, hugetlbfs) of the size it claims, a file it truncates
 * under the hub loses it its connection, and the hub never waits for it.
 */
#ifndef TPMCRB_TOOLS_HUB_H
#define TPMCRB_TOOLS_HUB_H

#include <signal.h>
#include <stdbool.h>

struct hub_options {
    const char *socket_path;
    unsigned period_ms;       /* between looks at the armed devices' pages */
    unsigned max_devices;     /* connections beyond it are closed at once */
};

/* Serve until *@stop is set (by a signal handler). 0, or a negative errno
 * after a message if the socket cannot be set up. */
int hub_run(const struct hub_options *o, volatile sig_atomic_t *stop);

/* Tests only: called when an ARM is handled, before the hub copies the
 * registers (@copied false) and after, before its ACK (true), so that a
 * test can make the hub slow exactly there. NULL in normal use. */
extern void (*hub_test_hook)(bool copied);

#endif
