/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_patched_qemu.h"
#include "tools/tool.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The line of build-qemu's output (one binary per line) that ends with
 * "/@name"; malloc'd, or NULL. */
static char *binary_line(const char *out, const char *name)
{
    size_t nlen = strlen(name);

    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > nlen && line[len - nlen - 1] == '/' &&
            !strncmp(line + len - nlen, name, nlen))
            return strndup(line, len);
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

char *vm_patched_qemu_binary(void)
{
    return vm_patched_qemu_binary_arch(VM_ARCH_X86_64);
}

char *vm_patched_qemu_binary_arch(enum vm_arch arch)
{
    const char *var = arch == VM_ARCH_AARCH64 ? "TPMCRB_QEMU_PATCHED_AARCH64"
                                              : "TPMCRB_QEMU_PATCHED";
    const char *name = vm_arch_qemu(arch);
    struct argv_list a = { 0 };
    char *out = NULL, *path, script[PATH_MAX], real[PATH_MAX];
    int rc;

    if (env(var))
        return strdup(env(var));
    argv_add(&a, "bash");
    if (env("TPMCRB_BUILD_QEMU"))
        argv_add(&a, env("TPMCRB_BUILD_QEMU"));
    else if (tool_data_path(script, sizeof(script), "qemu/build-qemu") == 0 &&
             realpath(script, real))
        argv_add(&a, real); /* the script finds the sources from its path */
    else {
        /* An installed tpmcrb has no build-qemu: it builds libtpmcrb from
         * a source tree. */
        LOG_ERROR("the patched QEMU is built from a tpmcrb source tree "
                  "(integrations/qemu/build-qemu); set %s to its binary", var);
        argv_free(&a);
        return NULL;
    }
    if (!argv_ok(&a)) {
        argv_free(&a);
        return NULL;
    }
    rc = vm_capture(a.v, &out);
    path = rc == 0 && out ? binary_line(out, name) : NULL;
    if (!path)
        LOG_ERROR("%s could not build the patched %s; "
                "set %s or pass --qemu", a.v[1], name, var);
    argv_free(&a);
    free(out);
    return path;
}

/* A property value for QEMU's option syntax, where ",," stands for a comma
 * inside a value (backend specs have commas). malloc'd; NULL: no memory. */
static char *qemu_value(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1), *p = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        *p++ = *s;
        if (*s == ',')
            *p++ = ',';
    }
    *p = '\0';
    return out;
}

void vm_patched_qemu_device_args(const struct vm_options *o,
                                 struct argv_list *a)
{
    char *backend = o->backend ? qemu_value(o->backend) : NULL;
    char *state = o->state_dir ? qemu_value(o->state_dir) : NULL;

    argv_add(a, "-device");
    if ((o->backend && !backend) || (o->state_dir && !state))
        a->failed = true;
    else
        argv_addf(a, "tpmcrb,id=tpm0,layout=%s,localities=%u,"
                  "start-method=%u%s%s%s%s",
                  o->layout == TPMCRB_LAYOUT_COMPAT ? "compat" : "split",
                  o->localities, o->start_method,
                  backend ? ",backend=" : "", backend ? backend : "",
                  state ? ",state-dir=" : "", state ? state : "");
    free(backend);
    free(state);
}

void vm_patched_qemu_args(const struct vm_options *o, struct argv_list *a)
{
    argv_add(a, "-machine");
    argv_add(a, "q35");
    argv_add(a, "-L");
    argv_add(a, "/usr/share/seabios");
    argv_add(a, "-L");
    argv_add(a, "/usr/share/qemu");
    vm_patched_qemu_device_args(o, a);
}
