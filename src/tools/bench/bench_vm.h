/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb bench vm`: guest throughput through /dev/tpm0 and /dev/tpmrm0 for
 * tpmcrb (start methods 8 and 7) against QEMU's own tpm-crb with swtpm,
 * same kernel and initramfs, one run; plus idle CPU of tpmcrb. Prints
 * BENCH key=value lines; argv[0] is the benchmark's name. */
#ifndef TPMCRB_BENCH_VM_H
#define TPMCRB_BENCH_VM_H

int bench_vm(int argc, char **argv);

#endif
