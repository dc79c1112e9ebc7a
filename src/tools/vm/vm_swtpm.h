/* SPDX-License-Identifier: BSD-3-Clause */
/* The swtpm child behind QEMU's own tpm-crb (`tpmcrb vm --device qemu-stock`). */
#ifndef TPMCRB_VM_SWTPM_H
#define TPMCRB_VM_SWTPM_H

#include <sys/types.h>

/* Start `swtpm socket` on control socket @sock with its state in
 * @state_dir and wait until the socket accepts. QEMU then drives it
 * (CMD_INIT, data channel); swtpm exits when QEMU disconnects. Returns
 * the pid, or -1 after printing why. */
pid_t vm_swtpm_start(const char *state_dir, const char *key, const char *sock);

#endif
