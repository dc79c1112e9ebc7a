#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# install_tree MESON DEST: `meson install --destdir DEST` of the build under
# test; sets PREFIX_DIR (DEST + the configured prefix) and BIN.
set -u
: "${TPMCRB_BUILDDIR:?set by meson}" "${TPMCRB_SRCDIR:?set by meson}"

install_tree() {
    local meson=$1 dest=$2 prefix
    "$meson" install -C "$TPMCRB_BUILDDIR" --destdir "$dest" --no-rebuild --quiet \
        > "$dest.install.log" 2>&1 || { cat "$dest.install.log"; return 1; }
    prefix=$("$meson" introspect --buildoptions "$TPMCRB_BUILDDIR" |
        python3 -c 'import json, sys
print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
    PREFIX_DIR=$dest$prefix
    BIN=$PREFIX_DIR/bin/tpmcrb
    [ -x "$BIN" ] || { echo "no $BIN after meson install"; return 1; }
}
