# SPDX-License-Identifier: BSD-3-Clause
# Shared by the tests of the patched QEMU (integrations/qemu): find or build
# that QEMU (and fetch Debian's stock binary of the same version), prepare the guest,
# give each QEMU its swtpm, boot it with a guest script, talk QMP.
# Sourced by bash scripts that set -euo pipefail.

src=${TPMCRB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SKIP=77

say() { echo "[$(date +%T)] $*"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit $SKIP; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-qemu-test.XXXXXX")
qemu_pids=()
swtpm_pids=()
cleanup() {
    local pid
    for pid in "${qemu_pids[@]}" "${swtpm_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# The patched QEMU: $TPMCRB_QEMU_PATCHED, or integrations/qemu/build-qemu's (built on
# first use). A machine that cannot fetch Debian's source skips.
patched_qemu() {
    if [ -n "${TPMCRB_QEMU_PATCHED:-}" ]; then
        echo "$TPMCRB_QEMU_PATCHED"
        return
    fi
    built_qemu
}

# The series' off-by-default build with libtpms inside QEMU (tpm-crb's
# libtpms-state): $TPMCRB_QEMU_EMBEDDED, or build-qemu --embedded-libtpms's
# (built on first use, in a folder of its own).
embedded_qemu() {
    if [ -n "${TPMCRB_QEMU_EMBEDDED:-}" ]; then
        echo "$TPMCRB_QEMU_EMBEDDED"
        return
    fi
    built_qemu --embedded-libtpms
}

# Stock QEMU of the same version: $TPMCRB_QEMU_STOCK, or Debian's own
# qemu-system-x86 binary (integrations/qemu/build-qemu --debian: fetched
# and unpacked on first use, not built), which is what Debian users run.
# (build-qemu --stock, the same source built here, is what `tpmcrb bench
# qemu` compares with.)
stock_qemu() {
    if [ -n "${TPMCRB_QEMU_STOCK:-}" ]; then
        echo "$TPMCRB_QEMU_STOCK"
        return
    fi
    built_qemu --debian
}

# The first path build-qemu prints (not through head: a pipe closed early
# would kill the writer with SIGPIPE, which pipefail turns into a failure).
built_qemu() {
    local out
    out=$(built_qemu_all "$@") || return
    printf '%s\n' "${out%%$'\n'*}"
}

# Every path build-qemu prints (its binaries, then --qtests' tests).
built_qemu_all() {
    local out
    if ! out=$("$src/integrations/qemu/build-qemu" "$@" 2>"$tmp/build-qemu.log"); then
        # On stderr: the caller captures stdout.
        if grep -q "apt knows no qemu\|apt-get source .* failed" "$tmp/build-qemu.log"; then
            { cat "$tmp/build-qemu.log"; skip "Debian's qemu source is not available here"; } >&2
        fi
        { cat "$tmp/build-qemu.log"; fail "integrations/qemu/build-qemu failed"; } >&2
    fi
    echo "$out"
}

# run_qtest BUILD TARGET TEST [-p PATH]...: QEMU's qtest TEST of the build
# folder BUILD on its qemu-system-TARGET, TAP output; every case must pass,
# none may be skipped, and each PATH must have run (a case that the test
# did not register, because the binary lacks a device, is a failure).
run_qtest() {
    local build=$1 target=$2 test=$3 log arg want=()
    shift 3
    for arg in "$@"; do
        case $arg in -p) ;; *) want+=("$arg") ;; esac
    done
    log=$tmp/$test-$target.tap
    say "$test on qemu-system-$target $*"
    if ! (cd "$build" && QTEST_QEMU_BINARY="$build/qemu-system-$target" \
            timeout 900 "tests/qtest/$test" --tap -k "$@") >"$log" 2>&1; then
        cat "$log"
        fail "$test ($target) failed"
    fi
    grep -E '^(ok|not ok)' "$log"
    grep -qE '^ok ' "$log" || { cat "$log"; fail "$test ($target) ran no test"; }
    if grep -iqE '^not ok|# skip' "$log"; then
        cat "$log"
        fail "$test ($target): a case failed or was skipped"
    fi
    for arg in "${want[@]}"; do
        grep -qE "^ok [0-9]+ $arg( |\$)" "$log" ||
            { cat "$log"; fail "$test ($target): $arg did not run"; }
    done
}

# swtpm_for_qemu STATE_DIR: start a swtpm for one QEMU process (it ends
# when QEMU closes its control channel) and set TPM_ARGS to the options
# that make it QEMU's -tpmdev tpm0. A swtpm started before is waited for
# first: two must not share a state directory.
swtpm_for_qemu() {
    local dir=$1 sock i
    command -v swtpm >/dev/null || skip "swtpm is not installed"
    swtpm_gone
    mkdir -p "$dir"
    sock=$tmp/swtpm-${#swtpm_pids[@]}.sock
    swtpm socket --tpm2 --tpmstate "dir=$dir" --ctrl "type=unixio,path=$sock" \
        --terminate --log "file=$tmp/swtpm.log,level=1" </dev/null >/dev/null 2>&1 &
    swtpm_pids+=($!)
    SWTPM_PID=$!
    for ((i = 0; i < 200; i++)); do
        [ -S "$sock" ] && break
        sleep 0.05
    done
    [ -S "$sock" ] || fail "swtpm did not start (state $dir)"
    TPM_ARGS=(-chardev "socket,id=chrtpm,path=$sock"
              -tpmdev "emulator,id=tpm0,chardev=chrtpm")
}

# Wait (10 s at most) for the last swtpm to end after its QEMU did.
swtpm_gone() {
    local i
    [ -n "${SWTPM_PID:-}" ] || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$SWTPM_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill "$SWTPM_PID" 2>/dev/null || true
    wait "$SWTPM_PID" 2>/dev/null || true
    SWTPM_PID=
}

# KERNEL and INITRD of the default guest (scripts/guest/prepare.sh).
prepare_guest() {
    local out
    out=$(bash "$src/scripts/guest/prepare.sh") || fail "scripts/guest/prepare.sh failed"
    KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$out")
    INITRD=$(sed -n 's/^INITRD=//p' <<<"$out")
    [ -s "$KERNEL" ] && [ -s "$INITRD" ] || fail "no guest kernel/initramfs"
}

# guest_initrd SCRIPT OUT: the default initramfs with SCRIPT as
# /tpmcrb/guest.sh, in an uncompressed cpio placed first (as `tpmcrb vm`
# does: Debian's kernel ignores one appended after the gzip archive).
guest_initrd() {
    local script=$1 out=$2 root
    root=$(mktemp -d "$tmp/root.XXXXXX")
    mkdir -p "$root/tpmcrb"
    cp "$script" "$root/tpmcrb/guest.sh"
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$out"
    cat "$INITRD" >>"$out"
}

# The QEMU command line shared by every test; more arguments follow.
# The firmware is this machine's (bookworm's seabios and qemu-system-data),
# for the stock binary too (-L goes before its own folders): a migration
# needs the same option ROMs on both sides.
# -nodefaults: q35's default empty CD-ROM on its AHCI controller makes
# bookworm's SeaBIOS 1.16.2 under QEMU 10 wait out its whole AHCI command
# timeout at every boot and reset; the tests need none of the default
# devices, and the console is the serial port on stdio as before.
qemu_base_args() {
    QEMU_ARGS=("$QEMU" -machine q35 -accel tcg -m 512M -nographic
               -nodefaults -serial mon:stdio
               -no-reboot -nic none -L /usr/share/seabios -L /usr/share/qemu
               -kernel "$KERNEL" -append "console=ttyS0 panic=-1 quiet")
}

# run_guest LOG TIMEOUT ARGS...: boot to the end; the guest script's exit
# status (from the TPMCRB-GUEST-EXIT= line) is the result.
run_guest() {
    local log=$1 limit=$2 rc
    shift 2
    timeout "$limit" "$@" </dev/null >"$log" 2>&1 || true
    rc=$(sed -n 's/^TPMCRB-GUEST-EXIT=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ -z "$rc" ]; then
        tail -n 40 "$log"
        fail "the guest reported no exit status ($log)"
    fi
    return "$rc"
}

# wait_for_line LOG PATTERN SECONDS
wait_for_line() {
    local log=$1 pattern=$2 limit=$3 i
    for ((i = 0; i < limit * 10; i++)); do
        grep -q -- "$pattern" "$log" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# register_mapping MACHINE DEVICE: how QEMU maps the TPM's register region
# ("romd" or "i/o"), from its memory tree, with DEVICE on MACHINE and a
# swtpm behind it; nothing runs in the guest.
register_mapping() {
    swtpm_for_qemu "$tmp/mtree.tpm"
    printf 'info mtree -f\nquit\n' |
        timeout 60 "$QEMU" -machine "$1" -accel tcg -display none -nic none -S \
            -L /usr/share/seabios -L /usr/share/qemu \
            -monitor stdio "${TPM_ARGS[@]}" -device "$2" 2>&1 |
        sed -n 's/.*(prio [0-9-]*, \([a-z/]*\)): tpm-crb-regs.*/\1/p' | head -n 1
    swtpm_gone
}

# qmp SOCKET COMMAND...: run QMP commands (JSON objects, or "hmp:TEXT"
# for human monitor commands) and print each reply on its own line.
qmp() {
    python3 "$src/tests/qemu/qmp.py" "$@"
}

# extend_chain N: the SHA-256 PCR value after extending a zeroed PCR with
# the digests printf '%064x' 1..N, computed on the host.
extend_chain() {
    python3 - "$1" <<'EOF'
import hashlib, sys
pcr = bytes(32)
for i in range(1, int(sys.argv[1]) + 1):
    pcr = hashlib.sha256(pcr + bytes.fromhex('%064x' % i)).digest()
print(pcr.hex())
EOF
}

# val LOG KEY: the first word after the last "KEY " line of a guest log.
val() { sed -n "s/^$2 \\([^[:space:]]*\\).*/\\1/p" "$1" | tr -d '\r' | tail -n 1; }

# The guest-script lines every "first boot" test runs (after its own
# checks): getrandom, PCR 0 and the firmware event log (reported), PCR 16
# after three extends, then an NV index holding NV_DATA is written.
#   guest_tpm_checks NV_DATA
guest_tpm_checks() {
    local log=/sys/kernel/security/tpm0/binary_bios_measurements
    cat <<EOF
r=\$(tpm2_getrandom --hex 16) || fail "tpm2_getrandom"
echo "RANDOM \$r"
echo "PCR0 \$(tpm2_pcrread sha256:0 | sed -n 's/.*0 *: *0x//p')"
# securityfs files show size 0: count the bytes (no file: no log)
echo "EVENTLOG \$(cat $log 2>/dev/null | wc -c)"
for i in 1 2 3; do
    tpm2_pcrextend 16:sha256=\$(printf '%064x' \$i) || fail "pcrextend \$i"
done
echo "PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
tpm2_nvdefine 0x1500016 -C o -s ${#1} -a "ownerread|ownerwrite" || fail "nvdefine"
printf '%s' "$1" > /tmp/nv
tpm2_nvwrite 0x1500016 -C o -i /tmp/nv || fail "nvwrite"
echo "NV written"
EOF
}

# The second boot's lines: read the NV index back, PCR 16, undefine.
#   guest_nv_readback NV_DATA
guest_nv_readback() {
    cat <<EOF
echo "NVREAD \$(tpm2_nvread 0x1500016 -C o -s ${#1})"
echo "PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
tpm2_nvundefine 0x1500016 -C o || fail "nvundefine"
EOF
}

# check_tpm_boots BOOT1_LOG BOOT2_LOG NV_DATA: what guest_tpm_checks and
# guest_nv_readback printed is right (16 random bytes, PCR 16 = the
# host's chain, the NV data back in the second boot, PCR 16 zero again).
check_tpm_boots() {
    local expected
    expected=$(extend_chain 3)
    [ "$(val "$1" RANDOM | wc -c)" -eq 33 ] || fail "tpm2_getrandom gave no 16 bytes"
    [ "$(val "$1" PCR16 | tr 'A-F' 'a-f')" = "$expected" ] ||
        fail "PCR 16 is $(val "$1" PCR16), expected $expected"
    say "PCR 16 matches the host: $expected"
    [ "$(val "$2" NVREAD)" = "$3" ] || fail "NV data did not persist"
    [ "$(val "$2" PCR16)" = "$(printf '%064d' 0)" ] || fail "PCR 16 survived a reboot"
}

# ------------------------------------------------ commands across a restore
# extend_loop_script N: a guest script extending PCR 16 with the digests
# 1..N (an "EXT i" line each) while a second loop keeps /dev/tpmrm0 busy,
# then printing PCR 16. A failed command prints GUEST-ERR (judged by
# check_loop_end).
extend_loop_script() {
    cat <<EOF
( while [ ! -f /tmp/stop ]; do
      tpmloop -n 200 /dev/tpmrm0 >/dev/null || echo "GUEST-ERR getrandom"
  done ) &
bg=\$!
i=1
while [ \$i -le $1 ]; do
    tpm2_pcrextend 16:sha256=\$(printf '%064x' \$i) || echo "GUEST-ERR extend \$i"
    echo "EXT \$i"
    i=\$((i + 1))
done
touch /tmp/stop
wait \$bg
echo "PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
EOF
}

# vm_start NAME QEMU DEVICE ARGS...: start QEMU with its own swtpm (state
# in $tmp/NAME.tpm), -device DEVICE on it and ARGS, in the background;
# console $tmp/NAME.log, QMP $tmp/NAME.qmp, pid VM_PID.
vm_start() {
    local name=$1 qemu=$2 device=$3
    shift 3
    swtpm_for_qemu "$tmp/$name.tpm"
    "$qemu" "$@" "${TPM_ARGS[@]}" -device "$device" \
        -qmp "unix:$tmp/$name.qmp,server=on,wait=off" </dev/null >"$tmp/$name.log" 2>&1 &
    qemu_pids+=($!)
    VM_PID=$!
}

# vm_migrate_out NAME FILE: migrate VM NAME (the last vm_start) into FILE,
# quit it and wait for it; LAST_EXT is its console's last EXT.
vm_migrate_out() {
    qmp "$tmp/$1.qmp" \
        "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $2\"}}" \
        wait-migration '{"execute": "quit"}' >/dev/null
    wait "$VM_PID" || true
    LAST_EXT=$(sed -n 's/^EXT \([0-9]*\).*/\1/p' "$tmp/$1.log" | tail -n 1)
    say "$1 stopped after EXT $LAST_EXT; $(stat -c %s "$2") bytes of state"
}

# migrate_mid_loop AFTER LIMIT DEVICE QEMU ARGS...: run the VM until the
# guest printed "EXT AFTER", migrate it to a file, quit, and let a second
# QEMU with the same arguments (and a swtpm of its own, which gets the TPM
# state from the stream) continue from that file. Consoles in
# $tmp/src.log and $tmp/dst.log; LAST_SRC is the source's last EXT.
migrate_mid_loop() {
    local after=$1 limit=$2 device=$3 qemu=$4
    shift 4
    vm_start src "$qemu" "$device" "$@"
    wait_for_line "$tmp/src.log" "^EXT $after" "$limit" ||
        { cat "$tmp/src.log"; fail "the loop did not start"; }
    vm_migrate_out src "$tmp/vmstate"
    LAST_SRC=$LAST_EXT
    vm_start dst "$qemu" "$device" "$@" -incoming "exec:cat $tmp/vmstate"
    timeout "$limit" tail --pid="$VM_PID" -f /dev/null || true
}

# check_loop_end WHAT N RESTORES LOG...: the extend loop of N finished
# with PCR 16 at the host's value. The guest's clock does not stand still
# over a migration nor go back with loadvm, so a command the guest was
# still polling for when the VM stopped can time out in its driver right
# after the restore although the device answered it (the driver wakes
# from its poll sleep past its deadline and gives up without reading the
# status again; stock QEMU's tpm-crb shows the same). One such timeout per
# restore is allowed and reported; the PCR chain still proves that the TPM
# ran every extend exactly once.
check_loop_end() {
    local what=$1 n=$2 restores=$3 timeouts errors expected got
    shift 3
    expected=$(extend_chain "$n")
    timeouts=$(cat "$@" | grep -c "tpm tpm0: Operation Timed out" || true)
    errors=$(cat "$@" | grep -c "^GUEST-ERR" || true)
    grep -q "GUEST-FAIL" "$@" && { cat "$@"; fail "$what: a guest command failed"; }
    if [ "$timeouts" -gt "$restores" ] || [ "$errors" -gt "$timeouts" ]; then
        cat "$@"
        fail "$what: $errors failed guest commands, $timeouts driver timeouts"
    fi
    [ "$timeouts" -eq 0 ] ||
        say "$what: the guest's driver timed out $timeouts command(s) in flight across the restore (its clock jumped)"
    grep -q '^TPMCRB-GUEST-EXIT=0' "$@" || { tail -n 30 "$@"; fail "$what: the guest did not finish"; }
    got=$(sed -n 's/^PCR16 \([0-9A-Fa-f]*\).*/\1/p' "$@" | tr 'A-F' 'a-f' | tail -n 1)
    [ "$got" = "$expected" ] || fail "$what: PCR 16 is $got, expected $expected"
}

# check_each_extend_once N [LOG...]: across the migration's consoles
# (default: the source's and the destination's) every EXT 1..N appears
# exactly once, and the source stopped inside the loop.
check_each_extend_once() {
    local n=$1
    shift
    [ $# -gt 0 ] || set -- "$tmp/src.log" "$tmp/dst.log"
    cat "$@" | sed -n 's/^EXT \([0-9]*\).*/\1/p' >"$tmp/ext"
    [ -z "$(sort -n "$tmp/ext" | uniq -d)" ] || fail "migration: a command was answered twice"
    [ "$(sort -nu "$tmp/ext" | wc -l)" -eq "$n" ] || fail "migration: an extend is missing"
    [ "$LAST_SRC" -lt "$n" ] || fail "migration: the loop ended before the migration"
}
