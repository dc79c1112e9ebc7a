#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vm_installed.sh MESON: `tpmcrb vm` as installed by `meson install
# --destdir`, moved to another folder after installing (as a package's
# files are not where they were built): it finds its guest scripts in its
# own PREFIX/share/tpmcrb and boots the default guest, whose TPM works.
. "$(dirname "$0")/lib.sh"
. "$TPMCRB_SRCDIR/tests/vm/lib.sh"
meson=$1
require_qemu
make_workdir

install_tree "$meson" "$WORK/dest" || fail "meson install"
mv "$WORK/dest" "$WORK/moved"
TPMCRB=$WORK/moved${PREFIX_DIR#"$WORK/dest"}/bin/tpmcrb
unset TPMCRB_DATADIR TPMCRB_GUEST_DIR

script=$(guest_script installed.sh "DIGEST=$TEST_DIGEST")
run_vm "$WORK/console" "$script" || fail "the installed tpmcrb vm failed"
check_common "$WORK/console" || fail "end-to-end checks"
echo "PASS: installed tpmcrb vm ($TPMCRB)"
