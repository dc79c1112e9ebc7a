#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# One state directory, one user at a time: a running owner (`tpmcrb serve`)
# refuses a second owner and every `tpmcrb pipe`, naming its pid; a running
# pipe refuses an owner, naming its pid, but not another pipe. And a state
# directory is refused unless it is the user's own and nobody else can
# write it; planted symlinks are never followed.
. "$(dirname "$0")/lib.sh"

shm=$WORK/ram
truncate -s 64K "$shm"
t2 getrandom 4 >/dev/null || fail "getrandom on a fresh directory"

pipes_gone "$STATE"

serve_started() {
    for _ in $(seq 200); do
        grep -q "device at" "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# timeout: a failed check never leaves the server running.
timeout 120 "$TPMCRB" serve --log-level info --shm "$shm" --offset 0 \
    --state "$STATE" 2>serve.log &
TIMEOUT=$!
serve_started serve.log "$TIMEOUT" || fail "serve did not start: $(cat serve.log)"
SERVE=$(pgrep -P "$TIMEOUT")

# A second owner and a pipe are refused, naming the owner's pid.
truncate -s 64K "$shm.2"
if timeout 10 "$TPMCRB" serve --shm "$shm.2" --offset 0 --state "$STATE" 2>serve2.log; then
    fail "a second serve on $STATE started"
fi
grep -q "in use by process $SERVE " serve2.log ||
    fail "second owner's message does not name pid $SERVE: $(cat serve2.log)"
if t2 getrandom 4 >/dev/null 2>pipe.err; then
    fail "a pipe ran on a directory a server owns"
fi
grep -q "in use by process $SERVE " pipe.err ||
    fail "pipe's message does not name pid $SERVE: $(cat pipe.err)"
kill -TERM "$SERVE"; wait "$TIMEOUT" || fail "serve exited with $?"

# A live pipe (stdin held open) refuses an owner but not another pipe.
pipes_gone "$STATE"
mkfifo in.fifo
"$TPMCRB" pipe --state "$STATE" < in.fifo > out.bin 2>pipe1.err &
PIPE=$!
exec 3> in.fifo
for _ in $(seq 200); do
    [ -e "$STATE/rm-client.$PIPE" ] && break
    sleep 0.05
done
[ -e "$STATE/rm-client.$PIPE" ] || fail "the pipe never registered: $(cat pipe1.err)"
t2 getrandom 4 >/dev/null || fail "a second pipe beside a live one"
if timeout 10 "$TPMCRB" serve --shm "$shm" --offset 0 --state "$STATE" 2>serve3.log; then
    fail "serve started beside a live pipe"
fi
grep -q "in use by process $PIPE " serve3.log ||
    fail "owner's message does not name the pipe's pid $PIPE: $(cat serve3.log)"
exec 3>&-
wait "$PIPE" || fail "pipe exited with $?"

# Unsafe directories: writable by others, or another user's. Refused
# with @reason.
refused_dir() {
    if timeout "$LIMIT" tpm2 getrandom -T "cmd:$TPMCRB pipe --state $WORK/$1" 4 \
            >/dev/null 2>"$1.err"; then
        fail "unsafe state directory $1 was used"
    fi
    grep -q "$2" "$1.err" || fail "$1: no reason given: $(cat "$1.err")"
}
mkdir -m 0777 open
chmod 0777 open
refused_dir open "writable by group or others"
if [ "$(id -u)" = 0 ]; then   # only root can give a directory away
    mkdir -m 0700 theirs
    chown 12345 theirs
    refused_dir theirs "owned by another user"
fi

# A symlink planted where the NV file's temporary goes is replaced, not
# followed, and every state file is private.
fresh=$WORK/fresh
mkdir -m 0700 "$fresh"
ln -s "$WORK/victim" "$fresh/.tpm2-nv.state.tmp"
timeout "$LIMIT" tpm2 getrandom -T "cmd:$TPMCRB pipe --state $fresh" 4 >/dev/null ||
    fail "getrandom with a planted symlink"
[ ! -e "$WORK/victim" ] || fail "the NV state was written through a planted symlink"
pipes_gone "$fresh"
for f in "$fresh"/*; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f")"
done
# A symlink in place of a state file is an unusable file, never a way out.
for slot in 0 1; do
    mv "$fresh/tpm2-volatile.state.$slot" "$WORK/slot"
    ln -s "$WORK/victim" "$fresh/tpm2-volatile.state.$slot"
    timeout "$LIMIT" tpm2 nvdefine -T "cmd:$TPMCRB pipe --state $fresh" \
        0x150001$slot -C o -s 8 -a "ownerread|ownerwrite" >/dev/null 2>sym.err || true
    pipes_gone "$fresh"
    [ ! -e "$WORK/victim" ] || fail "slot $slot was written through a symlink"
    rm "$fresh/tpm2-volatile.state.$slot"
    mv "$WORK/slot" "$fresh/tpm2-volatile.state.$slot"
done
echo "ok"
