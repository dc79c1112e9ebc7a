/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb bench qemu`: guest throughput through /dev/tpm0 and /dev/tpmrm0
 * on Debian's QEMU patched with the tpmcrb device (trap mode) against the
 * stock QEMU's tpm-crb with swtpm and against `tpmcrb vm`'s shared-memory
 * mode, one run; plus the share of commands the device answered inside the
 * START write. Prints BENCH key=value lines; argv[0] is the benchmark's
 * name. */
#ifndef TPMCRB_BENCH_QEMU_H
#define TPMCRB_BENCH_QEMU_H

int bench_qemu(int argc, char **argv);

#endif
