/* SPDX-License-Identifier: BSD-3-Clause */
/* Host TPM passthrough backend: not implemented yet (issue: more backends). */
#include "backend/backends.h"
#include "core/log.h"

#include <errno.h>

int crb_passthrough_open(const char *path,
                         const struct tpmcrb_backend_options *opts,
                         struct tpmcrb_backend **out)
{
    (void)path; (void)opts; (void)out;
    LOG_ERROR("the passthrough backend is not available in this build");
    return -ENOTSUP;
}
