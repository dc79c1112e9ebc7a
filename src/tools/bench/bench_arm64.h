/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb bench arm64`: guest TPM2_GetRandom throughput with -device
 * tpmcrb on the arm64 guest (virt machine) beside the x86_64 guest (q35),
 * both QEMU binaries from the same integrations/qemu/build-qemu build, one run. Prints
 * BENCH key=value lines; argv[0] is the benchmark's name. */
#ifndef TPMCRB_BENCH_ARM64_H
#define TPMCRB_BENCH_ARM64_H

int bench_arm64(int argc, char **argv);

#endif
