/* SPDX-License-Identifier: BSD-3-Clause */
/* For commands that run until they are stopped (serve, serve-hub). */
#ifndef TPMCRB_TOOLS_STOP_SIGNAL_H
#define TPMCRB_TOOLS_STOP_SIGNAL_H

#include <signal.h>

/* From now on SIGINT and SIGTERM set the flag returned (to the signal's
 * number) and nothing else. Without SA_RESTART: a wait in progress (pause,
 * epoll_wait) ends at once, so the command sees the flag. */
volatile sig_atomic_t *tool_stop_on_signals(void);

#endif
