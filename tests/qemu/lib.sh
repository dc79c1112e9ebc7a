# SPDX-License-Identifier: BSD-3-Clause
# Shared by the tests of the patched QEMU (integrations/qemu): find or build
# that QEMU, prepare the guest, boot it with a guest script, talk QMP.
# Sourced by bash scripts that set -euo pipefail.

src=${TPMCRB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SKIP=77

say() { echo "[$(date +%T)] $*"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit $SKIP; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-qemu-test.XXXXXX")
qemu_pids=()
cleanup() {
    local pid
    for pid in "${qemu_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# The patched QEMU: $TPMCRB_QEMU_PATCHED, or tools/build-qemu's (built on
# first use). A machine that cannot fetch Debian's source skips.
patched_qemu() {
    if [ -n "${TPMCRB_QEMU_PATCHED:-}" ]; then
        echo "$TPMCRB_QEMU_PATCHED"
        return
    fi
    local out
    if ! out=$("$src/tools/build-qemu" 2>"$tmp/build-qemu.log"); then
        if grep -q "apt knows no qemu source\|apt-get source .* failed" "$tmp/build-qemu.log"; then
            cat "$tmp/build-qemu.log"
            skip "Debian's qemu source is not available here"
        fi
        cat "$tmp/build-qemu.log"
        fail "tools/build-qemu failed"
    fi
    echo "$out" | head -n 1
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
qemu_base_args() {
    QEMU_ARGS=("$QEMU" -machine q35 -accel tcg -m 512M -nographic
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
