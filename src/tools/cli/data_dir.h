/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the tool's data is: the guest scripts (guest/) and, in a build
 * tree, the QEMU build script (qemu/build-qemu). Installed, that is
 * PREFIX/share/tpmcrb, found from the executable's own location through
 * the relative path from bindir to it, so that a package or a
 * `meson install --destdir` tree works wherever it lands. A build tree is
 * laid out the same way (meson links src/share/tpmcrb/guest and qemu to
 * the sources), so that the tool runs uninstalled without a compiled-in
 * source path. $TPMCRB_DATADIR overrides both.
 */
#ifndef TPMCRB_DATA_DIR_H
#define TPMCRB_DATA_DIR_H

#include <stddef.h>

/* "@dir/@rel" into @buf for the data file @rel ("guest/prepare.sh").
 * Returns 0, or -ENOENT (logged) when it is not there. */
int tool_data_path(char *buf, size_t len, const char *rel);

#endif
