/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmarks behind `tpmcrb bench`; each prints BENCH key=value lines and
 * returns an exit code. argv[0] is the benchmark's name. */
#ifndef TPMCRB_BENCH_H
#define TPMCRB_BENCH_H

int bench_device(int argc, char **argv);
/* `tpmcrb bench pipe`: pipe start-up and throughput vs. libtpms directly. */
int bench_pipe(int argc, char **argv);
/* `tpmcrb bench serve`: N idle poll-mode instances: CPU, RSS and PSS, the
 * first command after idle. */
int bench_serve(int argc, char **argv);

#endif
