#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_abi.sh LIBTPMCRB_SO TEST_ABI PROJECT_VERSION: the shared library
# exports exactly the functions the header marks TPMCRB_API, each under the
# version node TPMCRB_0; then the C checks (test_abi.c) through that library.
set -uo pipefail
so=$1 prog=$2 version=$3
: "${TPMCRB_SRCDIR:?set by meson}"
fail=0

command -v readelf >/dev/null || { echo "SKIP: readelf (binutils) is missing"; exit 77; }
exported=$(readelf --dyn-syms -W "$so" |
    awk '$7 != "UND" && $5 == "GLOBAL" && $4 == "FUNC" { print $8 }' | sort)
# A declaration may put TPMCRB_API on a line of its own.
declared=$(sed -e '/^TPMCRB_API$/{N;s/\n/ /;}' "$TPMCRB_SRCDIR/include/tpmcrb.h" |
    grep -o '^TPMCRB_API [^(]*\btpmcrb_[a-z0-9_]*(' |
    grep -o 'tpmcrb_[a-z0-9_]*($' | tr -d '(' | sort)
[ -n "$declared" ] || { echo "FAIL: no TPMCRB_API declarations found"; exit 1; }
unversioned=$(printf '%s\n' "$exported" | grep -v '@@TPMCRB_0$')
if [ -n "$unversioned" ]; then
    echo "FAIL: exported without the TPMCRB_0 version node:"; echo "$unversioned"; fail=1
fi
names=$(printf '%s\n' "$exported" | sed 's/@.*//' | sort)
extra=$(comm -23 <(echo "$names") <(echo "$declared"))
missing=$(comm -13 <(echo "$names") <(echo "$declared"))
[ -z "$extra" ] || { echo "FAIL: exported but not in the header:"; echo "$extra"; fail=1; }
[ -z "$missing" ] || { echo "FAIL: in the header but not exported:"; echo "$missing"; fail=1; }
echo "symbols: $(echo "$names" | wc -l) exported, all TPMCRB_0"

state=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-abi.XXXXXX")
trap 'rm -rf "$state"' EXIT
"$prog" "$version" "$state" || fail=1
exit $fail
