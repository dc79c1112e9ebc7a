#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A full disk: the TPM answers with an error, and the state committed
# before stays intact and loads once there is room again.
set -euo pipefail
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
    echo "SKIP: cannot mount a small tmpfs here (needs root)"; rm -rf "$work"; exit 77
fi
# Lazy: the cmd TCTI does not wait for its pipe, which may still be exiting.
trap 'umount -l "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
state=$mnt/state
tcti="cmd:$TPMCRB pipe --state $state"
idx=0x01500030

tpm2 nvdefine -T "$tcti" -C o -s 8 -a "ownerread|ownerwrite" $idx >/dev/null
printf 'COMMITED' | tpm2 nvwrite -T "$tcti" -C o -i - $idx
[ "$(tpm2 nvread -T "$tcti" -C o -s 8 $idx)" = COMMITED ] || { echo "FAIL: first write not readable"; exit 1; }
# The permanent (NV) state must not change; the volatile state is
# double-buffered in place and may advance with commands that succeeded.
sum_before=$(sha256sum "$state/tpm2-nv.state")

# Fill the file system to the last byte.
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
dd if=/dev/zero of="$mnt/filler2" bs=1 2>/dev/null || true

if printf 'OVERFULL' | tpm2 nvwrite -T "$tcti" -C o -i - $idx 2>"$work/err"; then
    echo "FAIL: an NV write on a full disk reported success"; exit 1
fi
echo "nvwrite on a full disk failed as it must:"; sed 's/^/  /' "$work/err" | head -5
sum_after=$(sha256sum "$state/tpm2-nv.state")
[ "$sum_before" = "$sum_after" ] || { echo "FAIL: the NV state changed on a full disk"; echo "before: $sum_before"; echo "after: $sum_after"; exit 1; }
ls -A "$state" | grep -q '\.tmp' && { echo "FAIL: temporary files left behind"; ls -la "$state"; exit 1; }

rm -f "$mnt/filler" "$mnt/filler2"
got=$(tpm2 nvread -T "$tcti" -C o -s 8 $idx)
[ "$got" = COMMITED ] || { echo "FAIL: after the disk had room again, read '$got'"; exit 1; }
echo "disk full: ok"
