#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The two wait implementations of src/os/os.h side by side in one run:
# `tpmcrb bench wait` from a futex build and from a -Dwait=posix build,
# alternated (futex, posix, futex, ...) so that both see the same load,
# then the median of each figure and the ratio posix / futex. The load
# average is printed with them: on a busy machine the figures move. Both
# builds use the same compiler and options, in their own folders.
#   scripts/bench-wait.sh [RUNS] [ROUNDS]    (default 7 runs of 20000)
# Environment: TPMCRB_BENCH_BUILD (default build-bench: build-bench-futex
# and build-bench-posix).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-7}
rounds=${2:-20000}
prefix=${TPMCRB_BENCH_BUILD:-$root/build-bench}

for impl in futex posix; do
    [ -f "$prefix-$impl/build.ninja" ] ||
        meson setup "$prefix-$impl" -Dwait=$impl -Dtests=false >/dev/null
    ninja -C "$prefix-$impl" --quiet src/tools/tpmcrb
done
futex=$prefix-futex
posix=$prefix-posix

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
for ((i = 0; i < runs; i++)); do
    "$futex/src/tools/tpmcrb" bench wait "$rounds" >>"$out"
    "$posix/src/tools/tpmcrb" bench wait "$rounds" >>"$out"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$runs" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    if line.startswith("BENCH wait."):
        key, v = line.split()[1].split("=")
        _, impl, name = key.split(".", 2)
        vals.setdefault(name, {}).setdefault(impl, []).append(float(v))
for name, by in vals.items():
    if "futex" not in by or "posix" not in by:
        sys.exit(f"bench-wait: {name}: a build did not report (is one of "
                 "them not futex or not posix?)")
    f, p = statistics.median(by["futex"]), statistics.median(by["posix"])
    print(f"BENCH wait.futex.{name}={f:.2f}")
    print(f"BENCH wait.posix.{name}={p:.2f}")
    print(f"BENCH wait.{name}.posix_to_futex_ratio={p / f:.2f}")
print(f"# medians of {sys.argv[2]} runs each, alternated")
PY
