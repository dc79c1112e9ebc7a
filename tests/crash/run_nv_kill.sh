#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Each sync of a state file stalls 1 ms (fault shim): kills land inside
# the NV file's write often enough to count. A sanitizer's runtime must
# come first in LD_PRELOAD (sanitizer builds).
preload="$(ldd "$TPMCRB" | awk '/lib(asan|tsan|ubsan)\.so/ { printf "%s ", $3 }')$2"
TPMCRB_FAULT_OP=sync TPMCRB_FAULT_DELAY_US=1000 LD_PRELOAD=$preload \
    "$1" "$TPMCRB" "$dir/state" "${NV_KILLS:-220}"
