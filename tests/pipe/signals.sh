#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The cmd TCTI sends SIGTERM right after reading the last response, while
# the pipe's stdin is still open: the pipe must exit at once, cleanly, and
# what the command changed must already be on disk. SIGKILL is a power loss:
# NV that was acknowledged survives, and so does the volatile state of the
# last completed command.
. "$(dirname "$0")/lib.sh"

IDX=0x1500017
t2 nvdefine "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail "nvdefine"

# Raw commands (TPM 2.0 Part 3), with an empty password session.
PWAUTH="00000009 40000009 0000 00 0000"
nv_write() {   # 8 bytes of data (16 hex digits)
    echo "8002 0000002b 00000137 40000001 01500017 $PWAUTH 0008 $1 0000"
}
PCR_DIGEST=$(printf 'signals' | sha256_hex)
PCR_EXTEND="8002 00000041 00000182 00000010 $PWAUTH 00000001 000b $PCR_DIGEST"

# Start a pipe reading from a FIFO that we keep open; send one command,
# wait for its response, then deliver @signal without closing stdin.
run_then_signal() {
    local signal=$1 cmd=$2 status
    rm -f in.fifo out.bin
    mkfifo in.fifo
    "$TPMCRB" pipe --state "$STATE" < in.fifo > out.bin 2> err.txt &
    PID=$!
    exec 3> in.fifo
    unhex "$cmd" >&3
    wait_size out.bin 10
    [ "$(rsp_code out.bin)" = 00000000 ] || fail "command failed: rc $(rsp_code out.bin)"
    kill "-$signal" "$PID"
    # A watchdog that holds no test output open once it is killed.
    ( exec >/dev/null 2>&1; sleep 10; kill -KILL "$PID" ) & WATCHDOG=$!
    status=0
    wait "$PID" || status=$?
    # SIGKILL: a bash child that gets SIGTERM before it has reset the traps
    # it inherited runs this shell's EXIT trap (see lib.sh), and the pipe
    # often exits so fast that this kill follows the fork within microseconds.
    kill -KILL "$WATCHDOG" 2>/dev/null || true
    wait "$WATCHDOG" 2>/dev/null || true
    exec 3>&-
    LAST_STATUS=$status
}

# SIGTERM right after an NV write's response, stdin still open.
run_then_signal TERM "$(nv_write 0123456789abcdef)"
[ "$LAST_STATUS" = 0 ] || fail "pipe exited with $LAST_STATUS on SIGTERM: $(cat err.txt)"
[ ! -s err.txt ] || fail "pipe complained on SIGTERM: $(cat err.txt)"
t2 nvread "$IDX" -C o -s 8 -o got.bin || fail "nvread after SIGTERM"
[ "$(hex got.bin)" = 0123456789abcdef ] || fail "NV after SIGTERM: $(hex got.bin)"

# SIGKILL right after an NV write: acknowledged NV must be durable.
run_then_signal KILL "$(nv_write fedcba9876543210)"
t2 nvread "$IDX" -C o -s 8 -o got.bin || fail "nvread after SIGKILL"
[ "$(hex got.bin)" = fedcba9876543210 ] || fail "NV after SIGKILL: $(hex got.bin)"

# SIGKILL right after a PCR extend: the volatile state of that completed
# command is what the next process resumes.
t2 pcrread sha256:16 -o old.bin >/dev/null || fail "pcrread"
run_then_signal KILL "$PCR_EXTEND"
t2 pcrread sha256:16 -o new.bin >/dev/null || fail "pcrread after SIGKILL"
expected=$( { cat old.bin; unhex "$PCR_DIGEST"; } | sha256_hex)
[ "$(hex new.bin)" = "$expected" ] || fail "PCR 16 after SIGKILL: $(hex new.bin), expected $expected"
echo "ok"
