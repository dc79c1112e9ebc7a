#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Hardening run for CI (issue 7):
#   1. builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan
#      and runs each for FUZZ_SECONDS (default 60) from the corpus in the
#      tree; new inputs go to a scratch corpus, crashes to $OUT/artifacts;
#   2. builds the whole tree with ASan+UBSan and runs the test suite once.
#
# usage: scripts/fuzz.sh [--seconds N] [--fuzz-only | --asan-only]
#                        [--merge]   (add what the run found to the corpus)
# Environment: OUT (build root, default build-hardening in this tree), CC_FUZZ
# (default clang), CC_ASAN (default cc), MESON_TEST_ARGS (extra arguments
# for the ASan `meson test`, e.g. "--no-suite vm").
# Prints BENCH lines (executions, exec/s per target). Exit status 0 only if
# no target crashed and every test passed.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$SRC/build-hardening}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS="regs snapshot tpm_cmd"
do_fuzz=1
do_asan=1
merge=0

while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECONDS_PER_TARGET=$2; shift ;;
    --fuzz-only) do_asan=0 ;;
    --asan-only) do_fuzz=0 ;;
    --merge) merge=1 ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

# Sanitizers report through these; leaks count as failures.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The source tree a build folder was configured for.
configured_source() {
    python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["directories"]["source"])' \
        "$1/meson-info/meson-info.json" 2>/dev/null || true
}

setup() { # dir cc extra-c-args
    # A folder configured for another checkout would build and fuzz that
    # tree's code: start it over.
    if [ -f "$1/build.ninja" ] && [ "$(configured_source "$1")" != "$SRC" ]; then
        echo "fuzz.sh: $1 was configured for $(configured_source "$1"); reconfiguring for $SRC"
        rm -rf "$1"
    fi
    if [ ! -f "$1/build.ninja" ]; then
        CC=$2 meson setup "$1" "$SRC" --buildtype=debugoptimized \
            -Db_sanitize=address,undefined -Db_lundef=false \
            ${3:+"-Dc_args=$3"} >"$1.setup.log" 2>&1 ||
            { cat "$1.setup.log"; return 1; }
    fi
}

fuzz() {
    dir=$OUT/fuzz
    setup "$dir" "${CC_FUZZ:-clang}" "-fsanitize=fuzzer-no-link" || return 1
    # Called as `fuzz || rc=1`, where set -e does not apply: check builds.
    for t in $TARGETS; do
        ninja -C "$dir" "tests/fuzz/fuzz-$(echo $t | tr _ -)" >"$OUT/build.log" 2>&1 ||
            { tail -30 "$OUT/build.log" >&2; echo "fuzz.sh: build failed" >&2; return 1; }
    done
    status=0
    for t in $TARGETS; do
        bin=$dir/tests/fuzz/fuzz-$(echo $t | tr _ -)
        work=$OUT/corpus/$t
        mkdir -p "$work" "$OUT/artifacts"
        log=$OUT/fuzz-$t.log
        echo "fuzz $t: ${SECONDS_PER_TARGET}s"
        if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
                -timeout=30 -rss_limit_mb=4096 \
                -artifact_prefix="$OUT/artifacts/$t-" \
                "$work" "$SRC/tests/fuzz/corpus/$t" >"$log" 2>&1; then
            echo "fuzz $t: FAILED, see $log and $OUT/artifacts" >&2
            tail -40 "$log" >&2
            status=1
        fi
        awk -v t="$t" '
            /stat::number_of_executed_units/ { print "BENCH fuzz." t ".execs=" $2 }
            /stat::average_exec_per_sec/ { print "BENCH fuzz." t ".execs_per_s=" $2 }
            /stat::peak_rss_mb/ { print "BENCH fuzz." t ".peak_rss_mb=" $2 }
        ' "$log"
        if [ $merge = 1 ]; then
            "$bin" -merge=1 "$SRC/tests/fuzz/corpus/$t" "$work" >/dev/null 2>&1
        fi
    done
    return $status
}

asan_suite() {
    dir=$OUT/asan
    setup "$dir" "${CC_ASAN:-cc}" "" || return 1
    ninja -C "$dir" >"$OUT/build.log" 2>&1 ||
        { tail -30 "$OUT/build.log" >&2; echo "fuzz.sh: build failed" >&2; return 1; }
    # shellcheck disable=SC2086
    meson test -C "$dir" --print-errorlogs ${MESON_TEST_ARGS:-}
}

mkdir -p "$OUT"
rc=0
if [ $do_fuzz = 1 ]; then fuzz || rc=1; fi
if [ $do_asan = 1 ]; then asan_suite || rc=1; fi
exit $rc
