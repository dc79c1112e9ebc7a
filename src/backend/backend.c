/* SPDX-License-Identifier: BSD-3-Clause */
/* Backend selection by spec string ("libtpms", "swtpm[:args]", "passthrough:PATH"). */
#include "backend/backends.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* Backends registered from outside the core library (libtpms). */
#define MAX_REGISTERED 4

static struct registered {
    const char *name;
    tpmcrb_backend_open_fn open;
} registered[MAX_REGISTERED];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

int tpmcrb_backend_register(const char *name, tpmcrb_backend_open_fn open)
{
    int err = -ENOSPC;

    if (!name || !*name || !open)
        return -EINVAL;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < MAX_REGISTERED; i++) {
        struct registered *r = &registered[i];

        if (r->name && strcmp(r->name, name) == 0) {
            err = r->open == open ? 0 : -EEXIST;
            break;
        }
        if (!r->name) {
            r->name = name;
            r->open = open;
            err = 0;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return err;
}

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

static tpmcrb_backend_open_fn find_registered(const char *spec,
                                              const char **args)
{
    tpmcrb_backend_open_fn open = NULL;

    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < MAX_REGISTERED && registered[i].name; i++) {
        if ((*args = spec_args(spec, registered[i].name))) {
            open = registered[i].open;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return open;
}

int tpmcrb_backend_open(const char *spec,
                        const struct tpmcrb_backend_options *opts,
                        struct tpmcrb_backend **out)
{
    static const struct tpmcrb_backend_options no_opts;
    tpmcrb_backend_open_fn open;
    const char *args;

    if (!opts)
        opts = &no_opts;
    if (!spec || !*spec)
        spec = "libtpms";
    if ((open = find_registered(spec, &args)))
        return open(args, opts, out);
    if (spec_args(spec, "libtpms")) {
        LOG_ERROR("backend 'libtpms' is not in this program (the embedded "
                  "libtpms backend is the libtpmcrb-libtpms library)");
        return -ENOENT;
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
