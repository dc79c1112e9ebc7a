/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll thread's side of the idle hub (hub_proto.h): hand the register
 * pages to the hub before a long sleep, sleep until it says the guest
 * wrote. Any failure of the hub leaves the poll thread to its own back-off;
 * it tries the hub again after a while.
 */
#ifndef TPMCRB_HUB_CLIENT_H
#define TPMCRB_HUB_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

struct hub_client;

enum hub_wait_result {
    HUB_WOKEN,      /* the hub saw a guest write (or a stale wake-up) */
    HUB_WATCHDOG,   /* the timeout passed: look at the pages yourself */
    HUB_LOST,       /* the hub is gone; the pages are not watched */
    HUB_STOPPING,   /* hub_client_interrupt() was called */
};

/* @mem_fd (duplicated) is the file holding @localities register pages from
 * @offset. 0 or a negative errno. Connects lazily, in hub_client_arm(). */
int hub_client_new(const char *socket_path, int mem_fd, uint64_t offset,
                   unsigned localities, struct hub_client **out);
void hub_client_free(struct hub_client *h);

/* Ask the hub to watch the pages from now on; true once it does. The
 * caller must then look at its pages once more before hub_client_wait(). */
bool hub_client_arm(struct hub_client *h);
/* Sleep until the hub wakes us, at most @timeout_ns. */
enum hub_wait_result hub_client_wait(struct hub_client *h, uint64_t timeout_ns);
/* Make a hub_client_wait() (now or next) return HUB_STOPPING; any thread. */
void hub_client_interrupt(struct hub_client *h);

/* Tests only: called on the poll thread at each step of handing the pages
 * to the hub (with the file offset of the client's pages), so that a test
 * can put a guest write exactly there. NULL in normal use. */
enum hub_arm_step {
    HUB_STEP_BEFORE_ARM,   /* after the device's last look of its own */
    HUB_STEP_ARM_SENT,     /* the hub may or may not have taken its copy */
    HUB_STEP_ACKED,        /* the hub has its copy; before the device's look */
};
extern void (*hub_client_test_hook)(uint64_t offset, enum hub_arm_step step);

#endif
