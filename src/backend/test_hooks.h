/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal hooks that let the backend tests reach what the interface hides. */
#ifndef TPMCRB_BACKEND_TEST_HOOKS_H
#define TPMCRB_BACKEND_TEST_HOOKS_H

#include "tpmcrb.h"

#include <stddef.h>
#include <sys/types.h>

/* Pid of the swtpm child of a swtpm backend, or -1 (not a swtpm backend,
 * connected to an external swtpm, or the child is gone). */
pid_t crb_swtpm_child_pid(const struct tpmcrb_backend *be);

/* sysfs cancel file for the TPM character device @dev ("/dev/tpmrm0" ->
 * "/sys/class/tpm/tpm0/device/cancel"). Returns 0, or -EINVAL when @dev
 * does not name a TPM device. The file need not exist. */
int crb_passthrough_cancel_path(const char *dev, char *buf, size_t len);

#endif
