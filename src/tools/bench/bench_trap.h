/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TPMCRB_BENCH_TRAP_H
#define TPMCRB_BENCH_TRAP_H

/* `tpmcrb bench trap [COUNT]`: trap-mode cost per mapping on KVM through
 * examples/kvm-vmm, and device instructions per command (callgrind). */
int bench_trap(int argc, char **argv);

#endif
