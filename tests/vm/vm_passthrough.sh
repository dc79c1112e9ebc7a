#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The passthrough backend against a real kernel TPM character device: this
# machine has none, the test guest has one (tpmcrb itself behind tpm_crb).
# The built test binaries go into the guest with their shared libraries
# and run there against /dev/tpmrm0 (and /dev/tpm0):
#   vm_passthrough.sh TEST-PASSTHROUGH CONFORMANCE     (meson passes both)
. "$(dirname "$0")/lib.sh"
require_qemu
if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
    fail "usage: vm_passthrough.sh TEST-PASSTHROUGH CONFORMANCE"
fi
command -v busybox >/dev/null || skip "busybox is not installed (it writes the cpio)"
make_workdir
OPT=/opt/tpmcrb-test

# Each run: a name for the report, then the guest command line.
RUNS=(
    "device-tpmrm0|TPMCRB_PASSTHROUGH_DEVICE=/dev/tpmrm0 $OPT/bin/test-passthrough device"
    "device-tpm0|TPMCRB_PASSTHROUGH_DEVICE=/dev/tpm0 $OPT/bin/test-passthrough device"
    "conformance|$OPT/bin/conformance passthrough:/dev/tpmrm0"
)

# The binaries and every library ldd finds for them, under $OPT in an
# uncompressed cpio. The dynamic loader comes with the default guest.
test_cpio() {
    local root=$WORK/root lib
    mkdir -p "$root$OPT/bin" "$root$OPT/lib"
    cp "$1" "$root$OPT/bin/test-passthrough"
    cp "$2" "$root$OPT/bin/conformance"
    for lib in $(ldd "$1" "$2" | awk '/=> \// { print $3 }' | sort -u); do
        cp -L "$lib" "$root$OPT/lib/"
    done
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        busybox cpio -o -H newc -R 0:0 2>/dev/null)
}

# The default initramfs with the test cpio placed first: Debian's kernel
# ignores an archive appended after the gzip one. `tpmcrb vm` puts the
# guest script's cpio in front of this again.
make_initrd() {
    local out initrd
    out=$(bash "$TPMCRB_SRCDIR/scripts/guest/prepare.sh" 2>"$WORK/prepare.log") ||
        { cat "$WORK/prepare.log"; skip "the default guest cannot be prepared here"; }
    initrd=$(sed -n 's/^INITRD=//p' <<<"$out")
    [ -s "$initrd" ] || fail "prepare.sh printed no INITRD"
    { test_cpio "$@" && cat "$initrd"; } > "$WORK/initrd.img" ||
        fail "building the test initramfs"
}

# Runs every command, marks its start and end status; fails if one did.
write_guest_script() {
    local run
    {
        echo "export LD_LIBRARY_PATH=$OPT/lib:\$LD_LIBRARY_PATH"
        echo "cd /tmp && rc=0"
        for run in "${RUNS[@]}"; do
            echo "echo 'RUN ${run%%|*}'"
            echo "${run#*|} 2>&1; r=\$?"
            echo "echo \"END ${run%%|*} \$r\"; [ \$r -eq 0 ] || rc=1"
        done
        echo "exit \$rc"
    } > "$WORK/guest.sh"
}

# check_run NAME: it exited 0, cmocka said PASSED and nothing FAILED.
check_run() {
    local section
    section=$(tr -d '\r' < "$WORK/console" | sed -n "/^RUN $1\$/,/^END $1 /p")
    grep -q "^END $1 0\$" <<<"$section" || { echo "$1 failed"; return 1; }
    grep -q '^\[  PASSED  \] [1-9][0-9]* test(s)' <<<"$section" ||
        { echo "$1: no cmocka PASSED line"; return 1; }
    if grep -q -e '^\[  FAILED  \]' -e '^\[  ERROR   \]' <<<"$section"; then
        echo "$1: a case FAILED"
        return 1
    fi
    grep -e '^\[       OK \]' -e '^\[  SKIPPED \]' -e '^\[  PASSED  \]' <<<"$section" |
        sed "s/^/  $1: /"
}

make_initrd "$@"
write_guest_script
run_vm "$WORK/console" "$WORK/guest.sh" --initrd "$WORK/initrd.img"
rc=$?
status=0
for run in "${RUNS[@]}"; do
    check_run "${run%%|*}" || status=1
done
if [ "$rc" -ne 0 ] || [ "$status" -ne 0 ]; then
    fail "passthrough tests in the guest"
fi
check_no_leftovers || fail "cleanup"
echo "PASS: vm passthrough"
