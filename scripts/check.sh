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

echo "== unit tests under ASan+UBSan ($asan)"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$asan" --print-errorlogs --num-processes 2 --suite unit

if [ -x scripts/fuzz.sh ]; then
    echo "== fuzzers"
    bash scripts/fuzz.sh
fi
echo "== all checks passed"
