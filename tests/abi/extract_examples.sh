#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# extract_examples.sh README HEADER README_OUT HEADER_OUT: the C code the
# documentation shows, as files the ABI test compiles: the code block under
# "## Embedding the library" in the README, and the example at the end of
# the header's opening comment. Fails when either is missing.
set -eu
readme=$1 header=$2 readme_out=$3 header_out=$4

awk '/^## Embedding the library/ { sec = 1 }
     sec && /^```c$/ { code = 1; next }
     code && /^```$/ { exit }
     code { print }' "$readme" > "$readme_out"

awk '/^ \* Example, with its error handling:$/ { code = 1; next }
     code && /^ \*\/$/ { exit }
     code { sub(/^ \*(   |$)/, ""); print }' "$header" > "$header_out"

for f in "$readme_out" "$header_out"; do
    grep -q 'tpmcrb_backend_open' "$f" || { echo "no example found for $f" >&2; exit 1; }
done
