/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmarks behind `tpmcrb bench`; each prints BENCH key=value lines and
 * returns an exit code. argv[0] is the benchmark's name. */
#ifndef TPMCRB_BENCH_H
#define TPMCRB_BENCH_H

/* `tpmcrb bench device`: device overhead per transport vs. libtpms
 * called directly. */
int bench_device(int argc, char **argv);
/* `tpmcrb bench pipe`: pipe start-up and throughput vs. libtpms directly. */
int bench_pipe(int argc, char **argv);
/* `tpmcrb bench serve`: N idle poll-mode instances: CPU, RSS and PSS, the
 * first command after idle. */
int bench_serve(int argc, char **argv);
/* `tpmcrb bench wait`: sleeping and waking in this build's src/os/os.h. */
int bench_wait(int argc, char **argv);
/* `tpmcrb bench trap [COUNT]`: trap-mode cost per mapping on KVM through
 * examples/kvm-vmm, and device instructions per command (callgrind). */
int bench_trap(int argc, char **argv);
/* `tpmcrb bench vm`: guest throughput through /dev/tpm0 and /dev/tpmrm0
 * for tpmcrb (start methods 8 and 7) against QEMU's own tpm-crb with
 * swtpm, same kernel and initramfs, one run; plus idle CPU of tpmcrb. */
int bench_vm(int argc, char **argv);
/* `tpmcrb bench qemu`: guest throughput on Debian's QEMU patched with the
 * tpmcrb device (trap mode) against the stock QEMU's tpm-crb with swtpm
 * and against `tpmcrb vm`'s shared-memory mode, one run; plus the share of
 * commands the device answered inside the START write. */
int bench_qemu(int argc, char **argv);
/* `tpmcrb bench arm64`: guest TPM2_GetRandom throughput with -device
 * tpmcrb on the arm64 guest (virt machine) beside the x86_64 guest (q35),
 * both QEMU binaries from the same integrations/qemu/build-qemu build. */
int bench_arm64(int argc, char **argv);

#endif
