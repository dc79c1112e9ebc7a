/* SPDX-License-Identifier: BSD-3-Clause */
/* os.h's thread names: glibc and FreeBSD name any thread by its handle;
 * other systems (macOS names only the calling thread) go without. Timer
 * slack: Linux only. */
#include "os/os.h"

#ifdef __FreeBSD__
#include <pthread_np.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

void os_thread_name(pthread_t thread, const char *name)
{
#if defined(__GLIBC__) || defined(__FreeBSD__)
    pthread_setname_np(thread, name); /* a failure is harmless */
#else
    (void)thread;
    (void)name;
#endif
}

void os_timer_slack(uint64_t ns)
{
#ifdef __linux__
    prctl(PR_SET_TIMERSLACK, (unsigned long)ns); /* a failure is harmless */
#else
    (void)ns;
#endif
}
