/* SPDX-License-Identifier: BSD-3-Clause */
/* swtpm backend: not implemented yet (issue: more backends). */
#include "backend/backends.h"
#include "core/log.h"

#include <errno.h>

int crb_swtpm_open(const char *args, const struct tpmcrb_backend_options *opts,
                   struct tpmcrb_backend **out)
{
    (void)args; (void)opts; (void)out;
    LOG_ERROR("the swtpm backend is not available in this build");
    return -ENOTSUP;
}
