/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_arm64.h"
#include "tools/vm/vm_patched_qemu.h"
#include "tools/tool.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int vm_arm64_options(struct vm_options *o, bool start_method_given)
{
    if (o->device != VM_DEVICE_QEMU_PATCHED) {
        LOG_ERROR("--arch aarch64 needs --device qemu: stock "
                "QEMU gives arm64 guests no TPM that Debian's kernel drives "
                "(tpm-tis-device only), and -acpitable reaches no ARM guest");
        return -1;
    }
    if (start_method_given && o->start_method != TPMCRB_START_METHOD_CRB) {
        LOG_ERROR("on aarch64 QEMU's board describes the "
                "device, with start method 7 only");
        return -1;
    }
    o->start_method = TPMCRB_START_METHOD_CRB;
    if (access(VM_AAVMF_CODE, R_OK) != 0 || access(VM_AAVMF_VARS, R_OK) != 0) {
        LOG_ERROR("%s or %s is missing (Debian: "
                "qemu-efi-aarch64); ACPI reaches an arm64 guest only through "
                "UEFI firmware", VM_AAVMF_CODE, VM_AAVMF_VARS);
        return -1;
    }
    return 0;
}

void vm_arm64_qemu_args(const struct vm_options *o, const struct vm_plan *p,
                        struct argv_list *a)
{
    vm_qemu_add_head(o, p, a);
    argv_add(a, "-machine");
    argv_add(a, "virt");
    /* TCG needs a model; a hardware accelerator runs the host's CPU. */
    argv_add(a, "-cpu");
    argv_add(a, strcmp(vm_qemu_accel(o), "tcg") ? "host" : "cortex-a57");
    /* Two 64 MiB pflash devices. The variable store is written through a
     * temporary overlay that QEMU drops at exit: every run starts from
     * Debian's template and nothing needs cleaning up. */
    argv_add(a, "-drive");
    argv_addf(a, "if=pflash,format=raw,unit=0,readonly=on,file=%s",
              VM_AAVMF_CODE);
    argv_add(a, "-drive");
    argv_addf(a, "if=pflash,format=raw,unit=1,snapshot=on,file=%s",
              VM_AAVMF_VARS);
    /* No base=: the platform bus places the device. */
    vm_patched_qemu_device_args(o, p, a);
    /* The virt machine's console is a PL011. */
    vm_qemu_add_kernel(o, p, "ttyAMA0", "", a);
    vm_qemu_add_tail(o, a);
}
