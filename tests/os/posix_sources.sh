#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The library is POSIX code outside its OS seam: every source of src/
# (the tools aside) compiles with only POSIX.1-2008/XSI declared (no
# _GNU_SOURCE), the portable wait implementation included. The exceptions
# are the Linux side of the seam, the passthrough backend (Linux's TPM
# devices), and the calls listed below, which README's Hosts section names.
#   posix_sources.sh SRCDIR CC [CC ARGS...]
set -euo pipefail
srcdir=$1; shift
cc=("$@")

declare -A allowed=(
    [src/backend/swtpm.c]="close_range pipe2 asprintf"
    [src/backend/state_store.c]="pwritev"
)
skipped=(src/os/wait_futex.c src/os/thread.c src/backend/passthrough.c)

cd "$srcdir"
status=0 checked=0
for f in $(find src -name '*.c' -not -path 'src/tools/*' | sort); do
    for s in "${skipped[@]}"; do [ "$f" = "$s" ] && continue 2; done
    checked=$((checked + 1))
    out=$("${cc[@]}" -std=c11 -D_XOPEN_SOURCE=700 -fsyntax-only \
          -Werror=implicit-function-declaration -Iinclude -Isrc "$f" 2>&1) && continue
    used=$(grep -o "implicit declaration of function ‘[a-z_0-9]*’\|implicit declaration of function '[a-z_0-9]*'" <<<"$out" |
           sed "s/.*function [‘']\([a-z_0-9]*\)[’']/\1/" | sort -u)
    if [ -z "$used" ]; then
        echo "$f does not compile as POSIX C:"; echo "$out"; status=1; continue
    fi
    for fn in $used; do
        if [[ " ${allowed[$f]:-} " != *" $fn "* ]]; then
            echo "$f calls $fn, which POSIX.1-2008 does not declare: put it behind src/os/os.h"
            status=1
        fi
    done
done
[ "$checked" -gt 20 ] || { echo "only $checked sources found under $srcdir/src"; exit 1; }
[ "$status" = 0 ] && echo "$checked library sources are POSIX C (listed exceptions aside)"
exit "$status"
