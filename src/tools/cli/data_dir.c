/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/data_dir.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* meson sets it: the data folder relative to the folder of the executable
 * as installed ("../share/tpmcrb"). */
#ifndef TPMCRB_DATADIR_FROM_BINDIR
#error "TPMCRB_DATADIR_FROM_BINDIR must be defined by the build"
#endif

static int data_dir(char *buf, size_t len)
{
    const char *env = getenv("TPMCRB_DATADIR");
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;

    if (env && *env)
        return snprintf(buf, len, "%s", env) < (int)len ? 0 : -ENAMETOOLONG;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -errno;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    n = snprintf(buf, len, "%s/%s", exe, TPMCRB_DATADIR_FROM_BINDIR);
    return n < (ssize_t)len ? 0 : -ENAMETOOLONG;
}

int tool_data_path(char *buf, size_t len, const char *rel)
{
    char dir[PATH_MAX];
    int err = data_dir(dir, sizeof(dir));

    if (err < 0) {
        LOG_ERROR("cannot tell where tpmcrb's data is: %s", strerror(-err));
        return err;
    }
    if (snprintf(buf, len, "%s/%s", dir, rel) >= (int)len)
        return -ENAMETOOLONG;
    if (access(buf, R_OK) < 0) {
        LOG_ERROR("%s is missing (tpmcrb's data folder: %s; set "
                  "TPMCRB_DATADIR if it is elsewhere)", buf, dir);
        return -ENOENT;
    }
    return 0;
}
