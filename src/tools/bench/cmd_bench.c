/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb bench NAME [ARGS]`: benchmarks that print BENCH key=value lines. */
#include "tools/bench/bench.h"
#include "tools/tool.h"

static const struct subcommand benches[] = {
    { "device", bench_device, "device overhead per transport vs. libtpms called directly, idle and beside busy loops" },
    { "pipe", bench_pipe, "tpmcrb pipe start-up and throughput vs. libtpms called directly" },
    { "serve", bench_serve, "N idle `tpmcrb serve` instances: CPU together, RSS and PSS each, first command after idle" },
    { "vm", bench_vm, "Linux guest throughput: tpmcrb vm (start method 8/7) vs QEMU tpm-crb + swtpm" },
    { "qemu", bench_qemu, "Linux guest on the patched QEMU (trap mode) vs stock tpm-crb + swtpm vs tpmcrb vm" },
    { "arm64", bench_arm64, "guest GetRandom/s with -device tpm-crb-device on arm64 (virt) beside x86_64 (q35), same build" },
    { "wait", bench_wait, "sleep/wake cost of this build's wait implementation (futex or posix)" },
    { "trap", bench_trap, "trap mode on KVM per mapping (examples/kvm-vmm); device instructions (callgrind)" },
};

int cmd_bench(int argc, char **argv)
{
    return subcommand_run("tpmcrb bench",
                          "usage: tpmcrb bench NAME [ARGS]\n\n"
                          "logging (every command):\n" TOOL_LOG_OPTIONS_HELP
                          "\nbenchmarks:",
                          benches, sizeof(benches) / sizeof(benches[0]),
                          argc, argv);
}
