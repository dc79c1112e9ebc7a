#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# An NV index defined in one call, written by a second process and read
# back by a third; NV survives a --power-cycle start.
. "$(dirname "$0")/lib.sh"

IDX=0x1500016
head -c 32 /dev/urandom > data.bin
t2 nvdefine "$IDX" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null || fail "nvdefine"
t2 nvwrite "$IDX" -C o -i data.bin || fail "nvwrite"
t2 nvread "$IDX" -C o -s 32 -o got.bin || fail "nvread"
cmp -s data.bin got.bin || fail "NV read back $(hex got.bin), wrote $(hex data.bin)"

timeout "$LIMIT" tpm2 nvread -T "cmd:$TPMCRB pipe --state $STATE --power-cycle" \
    "$IDX" -C o -s 32 -o boot.bin || fail "nvread after --power-cycle"
cmp -s data.bin boot.bin || fail "NV content lost across a power cycle"
t2 nvundefine "$IDX" -C o || fail "nvundefine"
t2 nvread "$IDX" -C o -s 32 -o none.bin 2>/dev/null && fail "index still readable after nvundefine"
echo "ok"
