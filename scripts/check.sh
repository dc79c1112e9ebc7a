#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite on a fresh Debian 12 machine: installs what is
# missing, builds, runs every test, then the unit tests again under
# ASan+UBSan. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/deps.sh

build=${TPMCRB_BUILD:-$root/build}
asan=${TPMCRB_ASAN_BUILD:-$root/build-asan}

echo "== build ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build"

echo "== tests"
meson test -C "$build" --print-errorlogs --num-processes 2

# Under ASan+UBSan: everything but the suites that boot guests under
# emulation (their device code runs in the suites kept here too, and an
# emulated boot under a sanitizer would take most of CI's time).
echo "== test suite under ASan+UBSan ($asan)"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$asan" --print-errorlogs --num-processes 2 \
    --no-suite vm --no-suite qemu --no-suite arm64 --no-suite kvm

echo "== fuzzers (${FUZZ_SECONDS:-30} s each)"
bash scripts/fuzz.sh --fuzz-only --seconds "${FUZZ_SECONDS:-30}"
echo "== all checks passed"
