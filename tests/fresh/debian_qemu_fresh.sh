#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# integrations/qemu/build-qemu --debian (Debian's own QEMU 10 binary, the
# stock side of tests/qemu) the way a fresh machine runs it: apt's package
# lists empty (an APT_CONFIG whose Dir::State::Lists is an empty folder,
# with a package cache of its own) and no tpmcrb cache (TPMCRB_CACHE is an
# empty folder). It must say on stderr that it downloads, fill the lists
# itself, and print one binary inside that cache which is Debian's
# qemu-system-x86 of the series' version, reads firmware only from beside
# itself, boots to SeaBIOS's first message with that firmware and has
# QEMU's own tpm-crb.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-fresh-debian.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get update hands the lists folder to _apt, which must reach it.
chmod 0755 "$tmp"
fail() { echo "FAIL: build-qemu --debian: $*" >&2; exit 1; }

mkdir -p "$tmp/lists/partial" "$tmp/apt-cache/archives/partial" "$tmp/cache"
printf 'Dir::State::Lists "%s/lists/";\nDir::Cache "%s/apt-cache/";\n' "$tmp" "$tmp" >"$tmp/apt.conf"

status=0
APT_CONFIG=$tmp/apt.conf TPMCRB_CACHE=$tmp/cache \
    "$root/integrations/qemu/build-qemu" --debian >"$tmp/out" 2>"$tmp/err" || status=$?
cat "$tmp/err" >&2
if [ "$status" -ne 0 ] && grep -q "apt knows no qemu-system-x86" "$tmp/err"; then
    echo "SKIP: Debian's qemu-system-x86 of the series' version is not available here"
    exit 77
fi
[ "$status" -eq 0 ] || fail "exit status $status on a fresh machine"
grep -q "downloading Debian's qemu-system-x86" "$tmp/err" || fail "the download was not announced on stderr"
compgen -G "$tmp/lists/*_Packages*" >/dev/null ||
    fail "the package lists are still empty: it never ran apt-get update"

[ "$(wc -l <"$tmp/out")" -eq 1 ] || { cat "$tmp/out" >&2; fail "stdout is not one line"; }
bin=$(cat "$tmp/out")
case $bin in "$tmp/cache/"*) ;; *) fail "$bin is not in the fresh cache" ;; esac
version=$("$bin" --version | head -n 1)
case $version in
*"(Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)"*) ;;
*) fail "not Debian's QEMU 10.0.2: $version" ;;
esac
# Every firmware folder it searches is inside the cache, but ipxe-qemu's.
"$bin" -machine q35 -L help | while read -r d; do
    case $(readlink -f "$d") in "$tmp/cache/"*|/usr/lib/ipxe/qemu) ;;
    *) fail "it reads firmware from $d" ;; esac
done
# Its own SeaBIOS runs (TCG, no disk, the BIOS prints its version first).
timeout 60 "$bin" -machine q35 -accel tcg -nographic -nic none -no-reboot \
    -serial none -chardev "file,id=dbg,path=$tmp/bios.log" \
    -device isa-debugcon,iobase=0x402,chardev=dbg </dev/null >/dev/null 2>&1 &
qpid=$!
for _ in $(seq 100); do grep -q "SeaBIOS (version" "$tmp/bios.log" 2>/dev/null && break; sleep 0.2; done
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
seabios=$(grep -ao "SeaBIOS (version [^)]*)" "$tmp/bios.log" | head -n 1) || fail "SeaBIOS did not start"
"$bin" -machine q35 -device help | grep '"tpm-crb"' >/dev/null || fail "no tpm-crb"
echo "PASS: $version, $seabios, on a fresh machine"
