#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Each sync of a state file stalls 1 ms (fault shim): kills land inside
# the NV file's write often enough to count.
TPMCRB_FAULT_OP=sync TPMCRB_FAULT_DELAY_US=1000 LD_PRELOAD=$2 \
    "$1" "$TPMCRB" "$dir/state" "${NV_KILLS:-220}"
