#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepare the default tpmcrb test guest and print where it is:
#   KERNEL=/path/to/vmlinuz
#   INITRD=/path/to/initramfs.cpio.gz
# Both are cached under ${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}:
# - the kernel of Debian's linux-image-*-amd64 package (the versioned name
#   comes from the linux-image-amd64 metapackage's Depends), fetched with
#   apt-get download and unpacked, never installed;
# - an initramfs (cpio newc, gzip) with busybox-static, tpm2 (tpm2-tools)
#   with its libraries, the TCTI libraries it dlopen()s, the static tpmloop
#   benchmark and the /init beside this script. Its name carries a hash of
#   this folder's files and of the package versions used, so a change to
#   either builds a new one.
# Progress goes to stderr; stdout has only the two lines above.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}
mkdir -p "$cache"
# apt-get that waits for a concurrent apt instead of failing.
apt_get=$here/apt-get

log() { echo "prepare-guest: $*" >&2; }
die() { log "$*"; exit 1; }
. "$here/progress.sh"
trap progress_stop EXIT

# The versioned kernel package, e.g. linux-image-6.1.0-56-amd64; nothing,
# successfully, when apt does not know the metapackage yet (empty lists:
# apt-cache exits 100), so that the caller's apt-get update gets its turn.
kernel_package() {
    # awk reads to the end: apt-cache must not die of SIGPIPE (pipefail).
    { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
        awk '!found && $1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; found = 1 }'
}

newest_cached_kernel() {
    find "$cache" -maxdepth 2 -path "$cache/kernel-*/vmlinuz" | sort -V | tail -n 1
}

fetch_kernel() {
    local pkg=$1 out=$2 tmp
    tmp=$(mktemp -d "$cache/.kernel.XXXXXX")
    progress_stage 1/2 "kernel: fetching $pkg with apt-get download"
    # As root, apt would drop to _apt, which cannot write to a private
    # folder; it then warns and goes on as root anyway. Say so up front.
    local sandbox=()
    [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
    progress_start "fetching $pkg"
    if ! (cd "$tmp" && apt-get download -q "${sandbox[@]}" "$pkg" >&2); then
        progress_stop
        rm -rf "$tmp"
        return 1
    fi
    progress_stop
    log "kernel: unpacking vmlinuz"
    # Only the kernel image is needed: extracting just ./boot skips the
    # several hundred MB of modules (the drivers we use are built in).
    dpkg-deb --fsys-tarfile "$tmp"/*.deb |
        tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
    mkdir -p "$out"
    mv "$tmp"/boot/vmlinuz-* "$out/vmlinuz.tmp"
    mv "$out/vmlinuz.tmp" "$out/vmlinuz"
    rm -rf "$tmp"
}

# Echo the path of a cached kernel, fetching it when needed.
ensure_kernel() {
    local pkg dir
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        log "apt knows no linux-image-amd64; running apt-get update (refreshes the package lists, no source is added)"
        progress_start "apt-get update"
        bash "$apt_get" update -q >&2 || true
        progress_stop
        pkg=$(kernel_package)
    fi
    if [ -z "$pkg" ]; then
        dir=$(newest_cached_kernel)
        [ -n "$dir" ] || die "cannot resolve linux-image-amd64 and no kernel is cached"
        log "using cached $dir"
        echo "$dir"
        return
    fi
    dir="$cache/kernel-${pkg#linux-image-}"
    if [ ! -s "$dir/vmlinuz" ]; then
        fetch_kernel "$pkg" "$dir" ||
            { log "apt-get download failed; running apt-get update (refreshes the package lists) and trying again" &&
              bash "$apt_get" update -q >&2 && fetch_kernel "$pkg" "$dir"; } ||
            die "apt-get download $pkg failed"
        # The metapackage moved on: the kernels it named before are done.
        local old
        for old in "$cache"/kernel-*/vmlinuz; do
            [ "$old" = "$dir/vmlinuz" ] || rm -rf "$(dirname "$old")"
        done
    fi
    echo "$dir/vmlinuz"
}

initramfs_key() {
    {
        cat "$here/prepare.sh" "$here/init" "$here/tpmloop.c"
        dpkg-query -W busybox-static tpm2-tools libtss2-tctildr0 \
            libtss2-tcti-device0 libtss2-esys-3.0.2-0 libc6 2>/dev/null || true
    } | sha256sum | cut -c1-16
}

# Copy a file to the same path under $root, following symlinks.
copy_in() {
    local root=$1 file=$2
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
}

# Shared libraries of the given binaries, as absolute paths (ldd's view).
libraries_of() {
    ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }' | sort -u
}

populate() {
    local root=$1 tpm2 lib tctis=()
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,tpmcrb}

    cp /bin/busybox "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done

    tpm2=$(command -v tpm2) || die "tpm2 (tpm2-tools) not found"
    copy_in "$root" "$tpm2"
    # tpm2-tools' old per-command names (tpm2_getrandom ...) are links to tpm2.
    for link in "$(dirname "$tpm2")"/tpm2_*; do
        [ -L "$link" ] && ln -sf tpm2 "$root/usr/bin/$(basename "$link")"
    done

    # The TCTI libraries are dlopen()ed by name, so ldd of tpm2 misses them.
    for lib in libtss2-tctildr.so.0 libtss2-tcti-device.so.0; do
        tctis+=("$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')")
    done
    for lib in "${tctis[@]}" $(libraries_of "$tpm2" "${tctis[@]}"); do
        [ -n "$lib" ] || die "a TCTI library is missing (libtss2-tctildr0, libtss2-tcti-device0)"
        copy_in "$root" "$lib"
    done
    copy_in "$root" /lib64/ld-linux-x86-64.so.2

    gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/bin/tpmloop" "$here/tpmloop.c"
    install -m 0755 "$here/init" "$root/init"
}

ensure_initramfs() {
    local out root
    out="$cache/initramfs-$(initramfs_key).cpio.gz"
    if [ ! -s "$out" ]; then
        progress_stage 2/2 "initramfs: building $(basename "$out")"
        root=$(mktemp -d "$cache/.initramfs.XXXXXX")
        log "initramfs: busybox, tpm2-tools and their libraries, tpmloop (gcc -static)"
        populate "$root"
        log "initramfs: packing and compressing"
        (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
            busybox cpio -o -H newc -R 0:0 2>/dev/null) | gzip -6 > "$out.tmp"
        mv "$out.tmp" "$out"
        rm -rf "$root"
        # Initramfs images of older scripts or packages are not used again.
        find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -path "$out" -delete
    fi
    echo "$out"
}

main() {
    local kernel initrd
    # Concurrent callers (tests, benchmarks) share the cache.
    exec 9>"$cache/.lock"
    flock -n 9 || { log "waiting for another preparation of the guest to finish"; flock 9; }
    kernel=$(ensure_kernel)
    initrd=$(ensure_initramfs)
    echo "KERNEL=$kernel"
    echo "INITRD=$initrd"
}

main "$@"
