#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite on a fresh Debian 12 machine: installs what is
# missing, builds, runs every test, then the suites that do not boot
# emulated guests again under ASan+UBSan and under ThreadSanitizer, then
# the fuzzers. Exits non-zero when anything fails.
#
# Two lanes: the suites that boot emulated guests (vm, qemu, arm64) run
# one test at a time in the background from the first build on (a TCG
# guest keeps about one core busy), while the other core goes through
# every other stage; their output is printed when they are done.
#
# Reruns: a test of a suite that boots emulated guests (vm, qemu, arm64)
# that fails is run once more on its own; if it passes then it is reported
# as FLAKY in the summary. Every other test gets no second chance.
# Skips: the summary lists every SKIP and whether tests/allowed-skips
# allows it; with CI=true a skip it does not allow fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/deps.sh

build=${TPMCRB_BUILD:-$root/build}
asan=${TPMCRB_ASAN_BUILD:-$root/build-asan}
tsan=${TPMCRB_TSAN_BUILD:-$root/build-tsan}
# The suites that boot emulated guests: the background lane, and the only
# ones whose failed tests run again.
rerun_suites=(vm qemu arm64)
# Suites left out of the sanitizer builds: guests booted under emulation
# (their device code runs in the suites kept there too, and an emulated
# boot under a sanitizer would take most of CI's time), and the scripts
# that prepare a machine (no code of ours to instrument).
sanitizer_skip_suites=(vm qemu arm64 fresh)

# What the summary reports: "BUILD TEST RESULT" lines, one per skip,
# flaky or failed test of any run.
results=$(mktemp "${TMPDIR:-/tmp}/tpmcrb-check.XXXXXX")
started=$SECONDS
guest_pid=
trap 'summary; rm -f "$results"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Record the SKIPs and FAILs of the meson run in $1 and print the tests to
# run again (failed ones of the rerun suites); exit status 1 when a test
# outside them failed.
collect() {
    python3 - "$1" "$results" "${rerun_suites[@]}" <<'PY'
import json, sys
log, results, rerun = sys.argv[1], sys.argv[2], set(sys.argv[3:])
build = log.split("/meson-logs/")[0]
again, hard = [], False
with open(results, "a") as out:
    for line in open(log):
        t = json.loads(line)
        head, _, name = t["name"].partition(" / ")
        suites = set(head.split(":", 1)[-1].split("+"))
        if t["result"] == "SKIP":
            out.write(f"{build} {name} SKIP\n")
        elif t["result"] in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
            out.write(f"{build} {name} {t['result']}\n")
            if suites & rerun:
                again.append(name)
            else:
                hard = True
print(" ".join(again))
sys.exit(1 if hard else 0)
PY
}

# Run the tests of build $1, logs under meson-logs/$2 (meson test
# arguments follow), and judge them.
run_tests() {
    local dir=$1 base=$2 status=0
    shift 2
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
        --logbase "$base" "$@" || status=$?
    judge "$dir" "$base" "$status"
}

# After meson test of build $1 wrote meson-logs/$2.json and exited with
# status $3: record its skips and failures; a failed test of the rerun
# suites runs once more on its own and, if it passes then, is FLAKY.
judge() {
    local dir=$1 base=$2 again status=0
    if [ "$3" -eq 0 ]; then
        collect "$dir/meson-logs/$base.json" >/dev/null  # the skips
        return 0
    fi
    again=$(collect "$dir/meson-logs/$base.json") || status=1
    [ -n "$again" ] || return 1
    echo "== running again on their own (suites ${rerun_suites[*]}): $again"
    # shellcheck disable=SC2086
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 1 \
        --logbase "$base-again" $again || status=1
    # Those that passed this time are FLAKY instead of failed.
    for t in $(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] == "OK":
        print(t["name"].partition(" / ")[2])' "$dir/meson-logs/$base-again.json"); do
        sed -i "\\|^$dir $t [A-Z]*\$|d" "$results"
        echo "$dir $t FLAKY" >>"$results"
    done
    return "$status"
}

# A stage failed while the guest lane was still running: stop it (meson
# test ends its tests on SIGTERM), and say so in the summary.
stop_guests() {
    [ -n "$guest_pid" ] || return 0
    kill -TERM "$guest_pid" 2>/dev/null || true
    wait "$guest_pid" 2>/dev/null || true
    local suites=${rerun_suites[*]}
    echo "$build suites:${suites// /+} STOPPED" >>"$results"
    guest_pid=
}

# A stage's header, with the time since the start.
stage() {
    echo "== [$(( (SECONDS - started) / 60 )):$(printf %02d $(( (SECONDS - started) % 60 )))] $*"
}

summary() {
    local status=$?
    stop_guests
    local build name result reason bad=0 failed=0
    echo
    echo "== summary ($(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s)"
    while read -r build name result; do
        build=${build#"$root"/}
        case $result in
        SKIP)
            reason=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' \
                tests/allowed-skips)
            if [ -n "$reason" ]; then
                echo "SKIP    $build: $name (allowed: $reason)"
            else
                echo "SKIP    $build: $name (NOT allowed by tests/allowed-skips)"
                bad=1
            fi ;;
        FLAKY) echo "FLAKY   $build: $name (failed, then passed when run again)" ;;
        *) echo "$result $build: $name"; failed=1 ;;
        esac
    done < <(sort -u "$results")
    if [ "$bad" -ne 0 ] && [ "${CI:-}" = true ]; then
        echo "== CI=true: a test skipped that must run here"
        [ "$status" -ne 0 ] || status=1
    fi
    # A failure on the list fails the check whatever the exit status says
    # (a check interrupted by a signal reaches here with status 0).
    [ "$failed" -eq 0 ] || [ "$status" -ne 0 ] || status=1
    if [ "$status" -eq 0 ]; then
        echo "== all checks passed"
    else
        echo "== the check FAILED"
    fi
    exit "$status"
}

stage "build ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build"
guest_args=() other_args=()
for s in "${rerun_suites[@]}"; do guest_args+=(--suite "$s"); other_args+=(--no-suite "$s"); done
guest_out=$build/meson-logs/guests-console.txt
stage "tests of the suites ${rerun_suites[*]}: in the background, one at a time (output at the end)"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 \
    --logbase guests "${guest_args[@]}" >"$guest_out" 2>&1 &
guest_pid=$!
stage "tests of the other suites"
run_tests "$build" testlog "${other_args[@]}"

# The portable waiting of src/os/os.h (mutex and condition variable)
# instead of Linux futexes, under the suites that drive the executor;
# built with clang, so that both compilers build the whole tree at
# -std=c11 -Wall -Wextra -Wpedantic -Werror.
posix=${TPMCRB_POSIX_BUILD:-$root/build-posix}
stage "POSIX wait implementation, clang ($posix)"
[ -f "$posix/build.ninja" ] || CC=clang meson setup "$posix" -Dwait=posix >/dev/null
ninja -C "$posix"
run_tests "$posix" testlog --suite unit --suite pipe --suite transport --suite conformance

# A big-endian host: the C unit suites cross-built for s390x and run under
# qemu-user (the s390x libraries are cached in ~/.cache/tpmcrb).
stage "s390x (big-endian) under qemu-user"
bash scripts/cross-s390x.sh

sanitizer_args=()
for s in "${sanitizer_skip_suites[@]}"; do sanitizer_args+=(--no-suite "$s"); done

stage "tests under ASan+UBSan ($asan)"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null
ninja -C "$asan"
# Timeouts scaled for the sanitizers' slowdown on a loaded machine.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_tests "$asan" testlog --timeout-multiplier 3 "${sanitizer_args[@]}"

stage "tests under ThreadSanitizer ($tsan)"
[ -f "$tsan/build.ninja" ] || meson setup "$tsan" -Db_sanitize=thread \
    -Db_lundef=false >/dev/null
ninja -C "$tsan"
TSAN_OPTIONS="second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
    run_tests "$tsan" testlog --timeout-multiplier 5 "${sanitizer_args[@]}"

stage "fuzzers (${FUZZ_SECONDS:-30} s each)"
bash scripts/fuzz.sh --fuzz-only --seconds "${FUZZ_SECONDS:-30}"

stage "tests of the suites ${rerun_suites[*]} ($build)"
status=0
wait "$guest_pid" || status=$?
guest_pid=
cat "$guest_out"
judge "$build" guests "$status"
