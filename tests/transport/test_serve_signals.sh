#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tpmcrb serve` and its stop signal while it still starts: a SIGTERM that
# comes before the device runs (here while its swtpm starts, held back a
# second by a wrapper) waits until serve is up and then powers it off in
# order, exit status 0; it never kills serve half-started. And the swtpm
# that serve starts does not inherit serve's blocked stop signals (it
# would ignore a SIGTERM of its own).
set -euo pipefail
client=$1
real_swtpm=$(command -v swtpm) || { echo "FAIL: swtpm is not installed"; exit 1; }
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "--- serve log"; cat "$work/log"; exit 1; }

mkdir "$work/bin"
# bash, not sh: dash clears the signal mask it starts with, bash keeps it
# and hands it on to what it runs (it blocks more while it forks, so its
# own /proc status is not the place to look): awk notes the mask that
# swtpm, executed next, gets.
cat >"$work/bin/swtpm" <<WRAPPER
#!/bin/bash
case "\$*" in
*--print-capabilities*) ;;
*) awk '/^SigBlk:/ { print \$2 }' /proc/self/status >"$work/swtpm.sigblk"
   echo \$\$ >"$work/swtpm.pid"
   sleep 1 ;;
esac
exec "$real_swtpm" "\$@"
WRAPPER
chmod +x "$work/bin/swtpm"
shm=$work/ram
truncate -s 64K "$shm"

# serve on the wrapper's swtpm, its log emptied first (the shell opens it
# for serve only when serve runs).
start_serve() {
    : >"$work/log"
    PATH="$work/bin:$PATH" "$TPMCRB" serve --log-level debug --backend swtpm \
        --shm "$shm" --offset 0 --state "$work/state" 2>"$work/log" &
    pid=$!
}

start_serve
for _ in $(seq 200); do
    [ -s "$work/swtpm.pid" ] && [ -s "$work/swtpm.sigblk" ] &&
        grep -q "swtpm: started" "$work/log" && break
    sleep 0.02
done
[ -s "$work/swtpm.pid" ] || fail "serve did not start swtpm"
grep -q "device at" "$work/log" && fail "serve was up before the test could signal it while starting"

# The mask swtpm starts with: SIGINT (bit 1) and SIGTERM (bit 14) must
# not be blocked.
blocked=$(cat "$work/swtpm.sigblk")
[ -n "$blocked" ] || fail "the swtpm wrapper did not note its signal mask"
(( (16#$blocked & 0x4002) == 0 )) || fail "swtpm starts with signals blocked (SigBlk $blocked)"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "serve signalled while starting exited with status $status"
grep -q "device at" "$work/log" || fail "serve stopped before its device ran"
grep -q "stopping on signal 15" "$work/log" || fail "serve did not take the SIGTERM"
grep -q "swtpm: child (pid [0-9]*) exited with status 0" "$work/log" ||
    fail "swtpm was not shut down in order"

# The TPM it powered off in order runs on: a fresh serve answers a client.
start_serve
for _ in $(seq 300); do grep -q "device at" "$work/log" && break; sleep 0.02; done
grep -q "device at" "$work/log" || fail "the second serve did not start"
"$client" "$shm" 0 0 3 || fail "no answer from the second serve"
kill -TERM "$pid"; wait "$pid" || fail "the second serve exited with $?"
pid=
echo "serve signals: ok"
