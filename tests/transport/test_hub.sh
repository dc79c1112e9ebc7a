#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The idle hub end to end: `tpmcrb serve --hub` hands its idle device to
# `tpmcrb serve-hub`; after every quiet spell the device still answers each
# step of a guest's sequence within Linux's timeout C (200 ms), woken by the
# hub; while idle it does not wake by itself; hostile registrations are
# refused without harm to the hub; a killed hub leaves the device serving
# by itself; a new hub replaces the dead one's socket, and the device
# attaches to it; a stopped hub delays a command by at most the device's
# watchdog and is then given up.
set -euo pipefail
probe=$1 hostile=$2 client=$3
# The hub watches shared memory files only.
work=$(mktemp -d -p /dev/shm tpmcrb-hub-test.XXXXXX)
hub_pid= serve_pid=
trap 'kill $hub_pid $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
shm=$work/ram
truncate -s 64K "$shm"
fail() { echo "FAIL: $*"; echo "--- serve log"; cat "$work/serve.log"; echo "--- hub log"; cat "$work/hub.log"; exit 1; }

# The log is appended to and a dead hub leaves its socket: this hub has
# started when the log has one more "idle hub at" line than before.
start_hub() {
    local before
    before=$(grep -c "idle hub at" "$work/hub.log" || true)
    "$TPMCRB" serve-hub --socket "$work/hub" --log-level debug 2>>"$work/hub.log" &
    hub_pid=$!
    for _ in $(seq 100); do
        [ "$(grep -c "idle hub at" "$work/hub.log" || true)" -gt "$before" ] && return 0
        sleep 0.05
    done
    fail "serve-hub did not start"
}

# Context switches of a process's poll thread: each wake-up is one. (Only
# that thread: a sanitizer's own threads wake on their own.)
wakeups() {
    local t n=0
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm")" = tpmcrb-poll ] || continue
        # Voluntary switches only: each is a sleep the thread chose; being
        # preempted by other work on a busy host is not a wake-up.
        n=$(awk -v n="$n" '/^voluntary_ctxt_switches/ { n += $2 } END { print n }' "$t/status")
    done
    echo "$n"
}

: >"$work/hub.log"
start_hub
"$TPMCRB" serve --log-level info --shm "$shm" --offset 0 --hub "$work/hub" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q "device at" "$work/serve.log" && break; sleep 0.05; done
grep -q "device at" "$work/serve.log" || fail "serve did not start"

"$hostile" "$work/hub" "$work" || fail "hostile registrations"
kill -0 $hub_pid || fail "the hub died of hostile input"

"$probe" "$shm" 0 1200 || fail "a step after a quiet spell was not answered in time (hub attached)"
grep -q "watches this device" "$work/serve.log" || fail "serve never handed its device to the hub"
woken=$(grep -c "the guest wrote; woken" "$work/hub.log" || true)
[ "$woken" -ge 5 ] || fail "the hub woke the device $woken times for 5 steps after quiet spells"

# Idle and attached: no back-off of its own (which wakes twenty times a
# second, 60 times in 3 s); only the watchdog (every half second, about 6
# times in 3 s) may wake it. The bound leaves room for a timer that fires
# early and a sanitizer runtime's own waits, and is far below 60.
sleep 1
w0=$(wakeups $serve_pid); sleep 3; w1=$(wakeups $serve_pid)
[ "$w0" -gt 0 ] || fail "no poll thread found in serve"
echo "hub: the idle attached device's poll thread slept $((w1 - w0)) times in 3 s"
[ $((w1 - w0)) -le 15 ] || fail "an idle device attached to the hub woke $((w1 - w0)) times in 3 s"

kill -KILL $hub_pid; wait $hub_pid 2>/dev/null || true
"$probe" "$shm" 0 1200 || fail "a step after a quiet spell was not answered in time (hub killed)"
grep -q "connection lost" "$work/serve.log" || fail "serve did not notice the hub's death"

start_hub # over the dead hub's socket
# The device tries the hub again every 10 s and attaches to the new one.
for _ in $(seq 300); do
    [ "$(grep -c "watches this device" "$work/serve.log")" -ge 2 ] && break
    sleep 0.05
done
[ "$(grep -c "watches this device" "$work/serve.log")" -ge 2 ] ||
    fail "serve did not attach to the restarted hub"
# A hub that is alive but stuck: the device's watchdog still sees the next
# command (within half a second), and the device gives the hub up when it
# does not answer, polling by itself again.
sleep 1
kill -STOP $hub_pid
timeout 20 "$client" "$shm" 0 0x100 1 || fail "no command served while the hub was stopped"
for _ in $(seq 100); do grep -q "no answer" "$work/serve.log" && break; sleep 0.05; done
grep -q "no answer" "$work/serve.log" || fail "serve did not give up the stopped hub"
"$probe" "$shm" 0 1200 || fail "a step after a quiet spell was not answered in time (hub stopped)"
kill -CONT $hub_pid

kill -TERM $serve_pid; wait $serve_pid || fail "serve exited with $?"
kill -TERM $hub_pid; wait $hub_pid || fail "serve-hub exited with $?"
[ ! -e "$work/hub" ] || fail "serve-hub left its socket behind"
echo "hub: ok"
