/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmarks behind `tpmcrb bench`; each prints BENCH key=value lines and
 * returns an exit code. argv[0] is the benchmark's name. */
#ifndef TPMCRB_BENCH_H
#define TPMCRB_BENCH_H

int bench_device(int argc, char **argv);
/* `tpmcrb bench pipe`: pipe start-up and throughput vs. libtpms directly. */
int bench_pipe(int argc, char **argv);
/* `tpmcrb bench wait`: sleeping and waking in this build's src/os/os.h. */
int bench_wait(int argc, char **argv);

#endif
