/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_patched_qemu.h"
#include "tools/vm/vm_arm64.h"
#include "tools/vm/vm_qemu.h"
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

enum qemu_build { BUILD_PATCHED, BUILD_STOCK, BUILD_EMBEDDED };

static char *built_qemu(enum vm_arch arch, enum qemu_build build);

char *vm_patched_qemu_binary(void)
{
    return vm_patched_qemu_binary_arch(VM_ARCH_X86_64);
}

char *vm_patched_qemu_binary_arch(enum vm_arch arch)
{
    return built_qemu(arch, BUILD_PATCHED);
}

char *vm_embedded_qemu_binary(void)
{
    return built_qemu(VM_ARCH_X86_64, BUILD_EMBEDDED);
}

char *vm_stock_qemu_binary(void)
{
    return built_qemu(VM_ARCH_X86_64, BUILD_STOCK);
}

static char *built_qemu(enum vm_arch arch, enum qemu_build build)
{
    static const char *const what[] = {
        [BUILD_PATCHED] = "patched", [BUILD_STOCK] = "stock",
        [BUILD_EMBEDDED] = "embedded-libtpms",
    };
    const char *var = build == BUILD_STOCK ? "TPMCRB_QEMU_STOCK" :
                      build == BUILD_EMBEDDED ? "TPMCRB_QEMU_EMBEDDED" :
                      arch == VM_ARCH_AARCH64 ? "TPMCRB_QEMU_PATCHED_AARCH64"
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
    if (build == BUILD_STOCK)
        argv_add(&a, "--stock");
    if (build == BUILD_EMBEDDED)
        argv_add(&a, "--embedded-libtpms");
    if (!argv_ok(&a)) {
        argv_free(&a);
        return NULL;
    }
    rc = vm_capture(a.v, &out);
    path = rc == 0 && out ? binary_line(out, name) : NULL;
    if (!path)
        LOG_ERROR("%s could not build the %s %s; set %s or pass --qemu",
                  a.v[1], what[build], name, var);
    argv_free(&a);
    free(out);
    return path;
}

void vm_patched_qemu_device_args(const struct vm_options *o,
                                 const struct vm_plan *p, struct argv_list *a)
{
    bool x86 = o->arch != VM_ARCH_AARCH64;
    /* The drop-in layout migrates to and from QEMU's own tpm-crb; anything
     * else is an opt-in that brings the device's own ACPI tables on x86,
     * which carry no PPI. */
    bool opt_in = o->layout != TPMCRB_LAYOUT_COMPAT || o->localities != 1 ||
                  (x86 && o->start_method != 7);

    char backend[PATH_MAX + 32];

    if (p->libtpms_state) {
        snprintf(backend, sizeof(backend), "libtpms-state=%s",
                 p->libtpms_state);
    } else {
        vm_qemu_tpmdev_args(p, a);
        snprintf(backend, sizeof(backend), "tpmdev=tpm0");
    }
    argv_add(a, "-device");
    argv_addf(a, "%s,id=tpm0,%s,layout=%s,localities=%u%s%s",
              x86 ? "tpm-crb" : "tpm-crb-device", backend,
              o->layout == TPMCRB_LAYOUT_COMPAT ? "compat" : "split",
              o->localities,
              x86 ? (o->start_method == 8 ? ",start-method=8" : "") : "",
              x86 && opt_in ? ",ppi=off" : "");
}

void vm_patched_qemu_args(const struct vm_options *o, const struct vm_plan *p,
                          struct argv_list *a)
{
    argv_add(a, "-machine");
    argv_add(a, "q35");
    vm_patched_qemu_device_args(o, p, a);
}
