/* SPDX-License-Identifier: BSD-3-Clause */
/* Backend selection by spec string ("libtpms", "swtpm[:args]", "passthrough:PATH"). */
#include "backend/backends.h"
#include "util/abi.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

static const char *spec_args(const char *spec, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(spec, name, n) != 0)
        return NULL;
    if (spec[n] == '\0')
        return "";
    if (spec[n] == ':')
        return spec + n + 1;
    return NULL;
}

void tpmcrb_backend_options_init(struct tpmcrb_backend_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
}

int tpmcrb_backend_open(const char *spec,
                        const struct tpmcrb_backend_options *opts,
                        struct tpmcrb_backend **out)
{
    static const struct tpmcrb_backend_options no_opts =
        TPMCRB_BACKEND_OPTIONS_INIT;
    const char *args;

    if (!opts)
        opts = &no_opts;
    if (CRB_ABI_CHECK(opts, struct tpmcrb_backend_options) < 0)
        return -EINVAL;
    if (!spec || !*spec)
        spec = "libtpms";
    if ((args = spec_args(spec, "libtpms")) && !*args) {
#ifdef TPMCRB_WITH_LIBTPMS
        return crb_libtpms_open(opts, out);
#else
        LOG_ERROR("this libtpmcrb was built without the libtpms backend "
                  "(-Dlibtpms=disabled)");
        return -ENOTSUP;
#endif
    }
    if ((args = spec_args(spec, "swtpm")))
        return crb_swtpm_open(args, opts, out);
    if ((args = spec_args(spec, "passthrough")))
        return crb_passthrough_open(*args ? args : "/dev/tpmrm0", opts, out);
    LOG_ERROR("unknown backend '%s' (expected libtpms, swtpm[:ctrl=PATH] "
              "or passthrough:DEVICE)", spec);
    return -EINVAL;
}

void tpmcrb_backend_close(struct tpmcrb_backend *be)
{
    if (be)
        be->ops->destroy(be);
}
