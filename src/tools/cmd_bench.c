/* SPDX-License-Identifier: BSD-3-Clause */
/* `tpmcrb bench NAME [ARGS]`: benchmarks that print BENCH key=value lines. */
#include "tools/bench.h"
#include "tools/bench_trap.h"
#include "tools/commands.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} benches[] = {
    { "device", bench_device, "device overhead per transport vs. libtpms called directly" },
    { "trap", bench_trap, "trap mode on KVM per mapping (examples/kvm-vmm); device instructions (callgrind)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tpmcrb bench NAME [ARGS]\n\nbenchmarks:\n");
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
        fprintf(out, "  %-7s %s\n", benches[i].name, benches[i].summary);
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
        if (!strcmp(argv[1], benches[i].name))
            return benches[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tpmcrb bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
