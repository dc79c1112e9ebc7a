/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_swtpm.h"
#include "tools/vm/vm_proc.h"
#include "tools/tool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SWTPM_START_TIMEOUT_MS 10000

/* swtpm serves one control connection and, with --terminate, exits when
 * it closes: probe for the socket file, not with a connection. The file
 * appears at bind(), a moment before listen(), hence the extra tick. */
static int wait_socket(pid_t pid, const char *sock)
{
    struct timespec tick = { 0, 10 * 1000 * 1000 };

    for (int ms = 0; ms < SWTPM_START_TIMEOUT_MS; ms += 10) {
        if (access(sock, F_OK) == 0) {
            nanosleep(&tick, NULL);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            LOG_ERROR("swtpm exited at start");
            return -1;
        }
        nanosleep(&tick, NULL);
    }
    LOG_ERROR("swtpm did not create %s", sock);
    return -1;
}

pid_t vm_swtpm_start(const char *state_dir, const char *key, const char *sock)
{
    struct argv_list a = { 0 };
    pid_t pid = -1;

    argv_add(&a, "swtpm");
    argv_add(&a, "socket");
    argv_add(&a, "--tpm2");
    argv_addf(&a, "--tpmstate=dir=%s", state_dir);
    argv_addf(&a, "--ctrl=type=unixio,path=%s", sock);
    if (key)
        argv_addf(&a, "--key=%s", key);
    argv_add(&a, "--terminate");
    if (argv_ok(&a))
        pid = vm_spawn(a.v, -1, -1, -1);
    argv_free(&a);
    if (pid > 0 && wait_socket(pid, sock) < 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    return pid;
}
