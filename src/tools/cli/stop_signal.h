/* SPDX-License-Identifier: BSD-3-Clause */
/* For commands that run until they are stopped (serve, serve-hub). */
#ifndef TPMCRB_TOOLS_STOP_SIGNAL_H
#define TPMCRB_TOOLS_STOP_SIGNAL_H

#include <signal.h>

/* From now on SIGINT and SIGTERM set the flag returned (to the signal's
 * number) and nothing else. Without SA_RESTART: a wait in progress (pause,
 * epoll_wait) ends at once, so the command sees the flag. */
volatile sig_atomic_t *tool_stop_on_signals(void);

/* For a command whose main thread only waits to be stopped while other
 * threads work (serve): SIGINT and SIGTERM are blocked from this call on,
 * in the calling thread and in every thread it starts afterwards. One that
 * comes while the command still starts stays pending (it neither kills the
 * command before it can power off in order nor lands on another thread)
 * until tool_wait_stop_signal() takes it. Call before starting threads.
 * Returns 0 or -errno. */
int tool_block_stop_signals(void);

/* Wait for SIGINT or SIGTERM, blocked by tool_block_stop_signals();
 * returns its number. */
int tool_wait_stop_signal(void);

#endif
