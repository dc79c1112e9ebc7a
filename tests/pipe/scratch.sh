#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The scratch directory of lib.sh belongs to the test's own shell. A child
# that bash forks starts with the shell's EXIT trap still set; SIGTERM
# before the child has reset its traps makes bash run that trap in the
# child. Watchdogs (signals.sh) are killed that way, sometimes right after
# they were started: the directory must survive it.
LIB=$(cd "$(dirname "$0")" && pwd)/lib.sh
. "$LIB"

echo data > keep.txt
for i in $(seq 50); do
    ( exec >/dev/null 2>&1; sleep 10 ) & child=$!
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    [ -f "$WORK/keep.txt" ] || fail "the scratch directory was removed by a killed child (#$i)"
done
# The test's own exit still cleans up; checked by a shell of our own.
dir=$(bash -c '. "$1"; echo "$WORK"' _ "$LIB")
[ -n "$dir" ] && [ ! -e "$dir" ] || fail "lib.sh left its scratch directory $dir behind"
echo "ok"
