/* SPDX-License-Identifier: BSD-3-Clause */
/* The guest of `tpmcrb vm`: the default kernel and initramfs, and the guest
 * script handed to the guest's /init. */
#ifndef TPMCRB_VM_GUEST_H
#define TPMCRB_VM_GUEST_H

/* Prepare (or find cached) the default guest with @prepare_script of
 * scripts/guest (prepare.sh, prepare-arm64.sh) and return malloc'd paths
 * of its kernel and initramfs. Returns 0, or -1 after printing why. */
int vm_guest_default(const char *prepare_script, char **kernel, char **initrd);

/* Write to @out an initrd that holds @script as /tpmcrb/guest.sh, followed
 * by the contents of @initrd. The kernel unpacks concatenated cpio archives
 * in order; the script's goes first, uncompressed, the way early microcode
 * is prepended: Debian's 6.1 kernel ignored an uncompressed archive placed
 * after the gzip one. Returns 0, or -1 after printing why. */
int vm_guest_initrd(const char *initrd, const char *script, const char *out);

#endif
