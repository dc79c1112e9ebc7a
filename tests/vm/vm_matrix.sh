#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Both start methods x both layouts x both locality settings boot and pass
# the same checks.
. "$(dirname "$0")/lib.sh"
require_qemu
make_workdir

script=$(guest_script matrix.sh "DIGEST=$TEST_DIGEST")
failed=()
for sm in 8 7; do
    for layout in split compat; do
        for loc in 5 1; do
            name="sm$sm-$layout-loc$loc"
            if run_vm "$WORK/$name" "$script" --start-method "$sm" \
                    --layout "$layout" --localities "$loc" &&
                    check_common "$WORK/$name"; then
                echo "ok: $name"
            else
                echo "not ok: $name"
                failed+=("$name")
            fi
        done
    done
done
check_no_leftovers || failed+=("cleanup")
[ ${#failed[@]} -eq 0 ] || fail "${failed[*]}"
echo "PASS: vm matrix (8 configurations)"
