#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# prepare_fresh.sh SCRIPT: run a guest-preparation script (scripts/guest/
# prepare.sh or prepare-arm64.sh) the way a fresh machine sees it, whatever
# this machine has already done:
#   - apt's package lists are empty (an APT_CONFIG whose Dir::State::Lists
#     is an empty folder, and a package cache of its own), as on a machine
#     where apt-get update never ran;
#   - there is no tpmcrb cache (HOME and XDG_CACHE_HOME are empty folders,
#     TPMCRB_CACHE is unset), so every package is fetched and every image
#     built.
# The script must print its KERNEL= and INITRD= lines and nothing else on
# stdout, the kernel must be a kernel and the initramfs must hold what the
# guest runs. The lists must have been filled by the script itself: that is
# the fallback a command failing before it would skip.
# Exit status 3 of the script (no packages for that architecture here) is
# a skip, which CI counts as a failure (tests/allowed-skips).
set -euo pipefail

script=$1
name=$(basename "$script" .sh)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get update hands the lists folder to _apt, which must reach it.
chmod 0755 "$tmp"

fail() { echo "FAIL: $name: $*" >&2; exit 1; }

mkdir -p "$tmp/lists/partial" "$tmp/apt-cache/archives/partial" "$tmp/home"
# Only these two folders differ from the machine's apt setup (its sources
# stay); /etc/apt/apt.conf.d is read after this file, so what apt really
# uses is checked.
cat >"$tmp/apt.conf" <<CONF
Dir::State::Lists "$tmp/lists/";
Dir::Cache "$tmp/apt-cache/";
CONF
# apt takes it.
APT_CONFIG="$tmp/apt.conf" apt-config shell lists Dir::State::Lists/d >"$tmp/cfg"
. "$tmp/cfg"
[ "${lists:-}" = "$tmp/lists/" ] || fail "apt does not use the empty lists (${lists:-})"

status=0
env -u TPMCRB_CACHE APT_CONFIG="$tmp/apt.conf" HOME="$tmp/home" \
    XDG_CACHE_HOME="$tmp/home/.cache" \
    bash "$script" >"$tmp/out" 2>"$tmp/err" || status=$?
cat "$tmp/err" >&2
if [ "$status" -eq 3 ]; then
    echo "SKIP: $name: no packages for its architecture here (exit 3)"
    exit 77
fi
[ "$status" -eq 0 ] || fail "exit status $status on a fresh machine"

# stdout: the two lines of the contract, nothing else.
[ "$(wc -l <"$tmp/out")" -eq 2 ] || { cat "$tmp/out" >&2; fail "stdout is not two lines"; }
kernel=$(sed -n 's/^KERNEL=//p' "$tmp/out")
initrd=$(sed -n 's/^INITRD=//p' "$tmp/out")
[ -n "$kernel" ] && [ -n "$initrd" ] || fail "no KERNEL= or INITRD= line"
case $kernel$initrd in
"$tmp/home/.cache/tpmcrb/"*"$tmp/home/.cache/tpmcrb/"*) ;;
*) fail "the images are not in the fresh cache: $kernel $initrd" ;;
esac
[ -s "$kernel" ] && [ -s "$initrd" ] || fail "empty kernel or initramfs"

# The script filled the empty lists with its own apt-get update.
compgen -G "$tmp/lists/*_Packages*" >/dev/null ||
    fail "the package lists are still empty: the script never ran apt-get update"

# A Linux kernel: a bzImage ("HdrS" at 0x202) on x86_64; on arm64 either
# an Image ("ARMd" at 0x38) or an EFI zboot image ("zimg" at 4).
bytes_at() { dd if="$kernel" bs=1 skip="$1" count=4 2>/dev/null; }
case $name in
prepare) [ "$(bytes_at 514)" = HdrS ] ;;
prepare-arm64) [ "$(bytes_at 4)" = zimg ] || [ "$(bytes_at 56)" = ARMd ] ;;
*) fail "unknown script" ;;
esac || fail "$kernel is not a Linux kernel image"

# The initramfs: a gzip'ed cpio with /init, busybox, tpm2 and tpmloop.
gzip -dc "$initrd" | busybox cpio -t >"$tmp/files" 2>/dev/null ||
    fail "$initrd is not a gzip'ed cpio archive"
for f in init bin/busybox usr/bin/tpm2 usr/bin/tpmloop; do
    grep -qx "\(\./\)\{0,1\}$f" "$tmp/files" || fail "the initramfs has no $f"
done
echo "PASS: $name on a fresh machine: $(basename "$kernel"), $(basename "$initrd")" \
    "($(grep -c . "$tmp/files") files)"
