/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/abi.h"
#include "util/log.h"

#include <errno.h>


const char *tpmcrb_version(void)
{
    return TPMCRB_VERSION_STRING;
}

int crb_abi_size_check(const void *s, uint32_t size, size_t min, size_t known,
                       const char *what)
{
    const unsigned char *bytes = s;

    if (size < min || size > CRB_ABI_MAX_STRUCT_SIZE) {
        LOG_ERROR("%s: size %u is not the size of any version of it "
                  "(set .size = sizeof(%s), or use its _init function)",
                  what, size, what);
        return -EINVAL;
    }
    for (size_t i = known; i < size; i++)
        if (bytes[i]) {
            LOG_ERROR("%s: the caller sets fields that libtpmcrb %s does not "
                      "have (size %u, this version knows %zu bytes)",
                      what, TPMCRB_VERSION_STRING, size, known);
            return -EINVAL;
        }
    return 0;
}
