#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepare the default arm64 (aarch64) tpmcrb test guest and print where it
# is, with the same contract as prepare.sh (the x86_64 guest):
#   KERNEL=/path/to/vmlinuz
#   INITRD=/path/to/initramfs.cpio.gz
# Both are cached under ${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}/arm64 (a folder
# of its own: prepare.sh deletes the kernels and initramfs images it does
# not use from the top of the cache):
# - the kernel of Debian's linux-image-*-arm64 package (the versioned name
#   comes from linux-image-arm64:arm64's Depends);
# - an initramfs with busybox-static, tpm2 (tpm2-tools) with its libraries,
#   the TCTI libraries it dlopen()s, a static tpmloop built with the cross
#   compiler and the same /init as the x86_64 guest.
# Every arm64 package is fetched with apt-get download and unpacked with
# dpkg-deb -x, never installed; the first run enables the arm64 foreign
# architecture (dpkg --add-architecture arm64 and apt-get update).
# ldd cannot run arm64 binaries, so the libraries come from the NEEDED
# entries (readelf -d) of tpm2 and the TCTIs, followed until none is
# missing; a library's package is found through its x86_64 twin on this
# host (dpkg -S), the way tpm2-tools' own libraries are installed here.
# Progress goes to stderr; stdout has only the two lines above. Exit status
# 3 means the arm64 packages cannot be had here (apt offers or fetches
# none); tests skip on it.
set -euo pipefail
# The steps run in command substitutions: they must stop on errors too.
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}/arm64
debs=$cache/debs
mkdir -p "$debs"

# What the guest runs; each one's libraries are followed. libc6 holds the
# program interpreter, which has no x86_64 twin to be found by.
root_packages=(busybox-static tpm2-tools libtss2-tctildr0 libtss2-tcti-device0 libc6)
# tpm2-tools loads its TCTIs with dlopen(): NEEDED entries do not name them.
tcti_libs=(libtss2-tctildr.so.0 libtss2-tcti-device.so.0)
libdirs=(lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib)
cross_cc=aarch64-linux-gnu-gcc
# apt-get that waits for a concurrent apt instead of failing.
apt_get=$here/apt-get

log() { echo "prepare-guest-arm64: $*" >&2; }
die() { log "$*"; exit 1; }
unavailable() { log "$*"; exit 3; }
. "$here/progress.sh"
trap progress_stop EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt-get download as root drops to _apt, which cannot write to a private
# folder; it then warns and goes on as root anyway. Say so up front.
apt_download() {
    local dir=$1 sandbox=()
    shift
    [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
    (cd "$dir" && apt-get download -q "${sandbox[@]}" "$@" >&2)
}

# ------------------------------------------------------------ apt

# Prints nothing, successfully, when apt does not know the package: on a
# machine whose lists have no arm64 packages yet apt-cache exits 100, and
# the caller's fallback (apt-get update) must still get its turn.
kernel_package() {
    # awk reads to the end: apt-cache must not die of SIGPIPE (pipefail).
    { apt-cache depends linux-image-arm64:arm64 2>/dev/null || true; } |
        awk '!found && $1 == "Depends:" && $2 ~ /^linux-image-/ {
                 sub(/:arm64$/, "", $2); print $2; found = 1 }'
}

# Echo the versioned kernel package, enabling arm64 in apt when needed.
ensure_arm64_apt() {
    local pkg
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        progress_stage 1/3 "apt: arm64 packages"
        log "enabling the arm64 architecture (dpkg --add-architecture arm64): apt then also lists arm64 packages; nothing is installed"
        as_root dpkg --add-architecture arm64
    fi
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        log "apt knows no arm64 packages yet; running apt-get update (refreshes the package lists, no source is added)"
        progress_start "apt-get update"
        as_root bash "$apt_get" update -q >&2 || true
        progress_stop
        pkg=$(kernel_package)
    fi
    [ -n "$pkg" ] ||
        unavailable "apt offers no linux-image-arm64:arm64 (no arm64 packages here)"
    echo "$pkg"
}

# "PACKAGE VERSION" for each PACKAGE:arm64 given: the candidate apt would
# download. One apt-cache call for all of them (each call costs seconds).
candidates() {
    { apt-cache policy "${@/%/:arm64}" 2>/dev/null || true; } |
        awk '/^[^ ].*:$/ { pkg = $1; sub(/:arm64:$/, "", pkg) }
             $1 == "Candidate:" { print pkg, $2 }'
}

# ------------------------------------------------------------ kernel

# Echo the path of the cached kernel of package $1, fetching it when needed.
ensure_kernel() {
    local pkg=$1 dir tmp old
    dir="$cache/kernel-${pkg#linux-image-}"
    if [ ! -s "$dir/vmlinuz" ]; then
        tmp=$(mktemp -d "$cache/.kernel.XXXXXX")
        progress_stage 2/3 "kernel: fetching $pkg:arm64 with apt-get download"
        progress_start "fetching $pkg:arm64"
        apt_download "$tmp" "$pkg:arm64" ||
            { progress_stop; rm -rf "$tmp"; unavailable "apt-get download $pkg:arm64 failed"; }
        progress_stop
        # Only the image: the modules are not needed (tpm_crb, the PL011
        # console and ACPI are built in).
        dpkg-deb --fsys-tarfile "$tmp"/*.deb |
            tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
        mkdir -p "$dir"
        mv "$tmp"/boot/vmlinuz-* "$dir/vmlinuz.tmp"
        mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
        rm -rf "$tmp"
        # The metapackage moved on: the kernels it named before are done.
        for old in "$cache"/kernel-*/vmlinuz; do
            [ "$old" = "$dir/vmlinuz" ] || rm -rf "$(dirname "$old")"
        done
    fi
    echo "$dir/vmlinuz"
}

# ------------------------------------------------------------ packages

# Download each PACKAGE:arm64 given into the deb cache unless its candidate
# is there already (one apt-get call for the rest); print the .debs' paths.
fetch_debs() {
    local pkg version file want=() files=()
    while read -r pkg version; do
        [ -n "$version" ] && [ "$version" != "(none)" ] ||
            unavailable "apt offers no $pkg:arm64"
        # apt-get download names files PACKAGE_VERSION_ARCH.deb with the
        # epoch's colon written as %3a.
        file="$debs/${pkg}_${version//:/%3a}_arm64.deb"
        files+=("$file")
        [ -s "$file" ] || want+=("$pkg:arm64=$version")
    done < <(candidates "$@")
    [ ${#files[@]} -eq $# ] || unavailable "apt knows only some of: $*"
    if [ ${#want[@]} -gt 0 ]; then
        log "fetching ${#want[@]} packages with apt-get download: ${want[*]}"
        progress_start "fetching ${#want[@]} packages"
        apt_download "$debs" "${want[@]}" ||
            { progress_stop; unavailable "apt-get download failed"; }
        progress_stop
    fi
    for file in "${files[@]}"; do
        [ -s "$file" ] || die "apt-get download left no $file"
        echo "$file"
    done
}

# The package that holds SONAME on this host's x86_64 side, e.g.
# libcrypto.so.3 -> libssl3. Debian names a library's package the same on
# every architecture.
package_of_soname() {
    local so=$1
    # One of the two paths is unknown to dpkg (usrmerge): not an error.
    { dpkg -S "/lib/x86_64-linux-gnu/$so" "/usr/lib/x86_64-linux-gnu/$so" 2>/dev/null || true; } |
        awk -F': ' 'NR == 1 { sub(/:amd64$/, "", $1); sub(/,.*/, "", $1); print $1 }'
}

# Where SONAME is in the unpacked tree (relative path), or nothing.
find_lib() {
    local stage=$1 so=$2 d
    for d in "${libdirs[@]}"; do
        if [ -e "$stage/$d/$so" ]; then
            echo "$d/$so"
            return
        fi
    done
}

needed_of() {
    readelf -d "$1" 2>/dev/null |
        sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'
}

# The closure of the guest's binaries over NEEDED entries, as paths
# relative to the unpacked tree; missing sonames go to $stage/.missing.
closure() {
    local stage=$1 queue=() seen=" " file so lib
    : >"$stage/.missing"
    queue=(usr/bin/tpm2)
    for so in "${tcti_libs[@]}"; do
        lib=$(find_lib "$stage" "$so")
        [ -n "$lib" ] && queue+=("$lib") || echo "$so" >>"$stage/.missing"
    done
    while [ ${#queue[@]} -gt 0 ]; do
        file=${queue[0]}
        queue=("${queue[@]:1}")
        case $seen in *" $file "*) continue ;; esac
        seen="$seen$file "
        echo "$file"
        for so in $(needed_of "$stage/$file"); do
            lib=$(find_lib "$stage" "$so")
            if [ -n "$lib" ]; then
                queue+=("$lib")
            else
                echo "$so" >>"$stage/.missing"
            fi
        done
    done
}

# Unpack the root packages and every package their libraries need into
# $stage; the files the guest needs go to $stage/.files (relative paths),
# the packages used to $stage/.debs.
resolve() {
    local stage=$1 pkgs=("${root_packages[@]}") used=() fetched deb so pkg round
    for round in 1 2 3 4 5 6 7 8; do
        # Not in the loop's word list, where its exit status would be lost.
        fetched=$(fetch_debs "${pkgs[@]}")
        for deb in $fetched; do
            used+=("$deb")
            dpkg-deb -x "$deb" "$stage"
        done
        closure "$stage" >"$stage/.files"
        pkgs=()
        for so in $(sort -u "$stage/.missing"); do
            pkg=$(package_of_soname "$so")
            [ -n "$pkg" ] || die "no package known for $so (needed by tpm2):" \
                "install tpm2-tools on this host so that its x86_64 twin names it"
            pkgs+=("$pkg")
        done
        if [ ${#pkgs[@]} -eq 0 ]; then
            printf '%s\n' "${used[@]}" >"$stage/.debs"
            return
        fi
        mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
        log "round $round: also ${pkgs[*]}"
    done
    die "the libraries of tpm2 did not resolve after 8 rounds"
}

# ------------------------------------------------------------ initramfs

initramfs_key() {
    {
        cat "$here/prepare-arm64.sh" "$here/init" "$here/tpmloop.c"
        candidates "${root_packages[@]}" libssl3 libtss2-esys-3.0.2-0
        "$cross_cc" -dumpfullversion
    } | sha256sum | cut -c1-16
}

populate() {
    local root=$1 stage=$2 file applet link
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,tpmcrb}

    cp "$stage/bin/busybox" "$root/bin/busybox"
    # The arm64 busybox cannot run here to list its applets; the host's
    # busybox-static is the same Debian build for another architecture.
    for applet in $(/bin/busybox --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done

    # tpm2, its libraries and the TCTIs, at the paths the arm64 loader
    # searches by default (/lib/aarch64-linux-gnu, /usr/lib/...).
    while read -r file; do
        mkdir -p "$root/$(dirname "$file")"
        cp -L "$stage/$file" "$root/$file"
    done <"$stage/.files"
    # The program interpreter named in every dynamic arm64 binary.
    cp -L "$stage/lib/ld-linux-aarch64.so.1" "$root/lib/ld-linux-aarch64.so.1"
    # tpm2-tools' old per-command names (tpm2_getrandom ...) are links to tpm2.
    for link in "$stage"/usr/bin/tpm2_*; do
        [ -L "$link" ] && ln -sf tpm2 "$root/usr/bin/$(basename "$link")"
    done

    "$cross_cc" -static -O2 -Wall -Wextra -Werror -o "$root/usr/bin/tpmloop" \
        "$here/tpmloop.c"
    install -m 0755 "$here/init" "$root/init"
}

ensure_initramfs() {
    local out root stage deb
    command -v "$cross_cc" >/dev/null ||
        die "$cross_cc not found (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
    out="$cache/initramfs-$(initramfs_key).cpio.gz"
    if [ ! -s "$out" ]; then
        progress_stage 3/3 "initramfs: building $(basename "$out")"
        stage=$(mktemp -d "$cache/.stage.XXXXXX")
        root=$(mktemp -d "$cache/.initramfs.XXXXXX")
        # shellcheck disable=SC2064 # the folders are known now
        trap "progress_stop; rm -rf '$stage' '$root' '$out.tmp'" EXIT
        log "initramfs: arm64 busybox, tpm2-tools and the libraries they need"
        resolve "$stage"
        log "initramfs: tpmloop ($cross_cc -static), /init"
        populate "$root" "$stage"
        log "initramfs: packing and compressing"
        (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
            busybox cpio -o -H newc -R 0:0 2>/dev/null) | gzip -6 >"$out.tmp"
        mv "$out.tmp" "$out"
        # Packages of earlier builds that this one no longer uses.
        for deb in "$debs"/*.deb; do
            grep -qxF "$deb" "$stage/.debs" || rm -f "$deb"
        done
        rm -rf "$root" "$stage"
        trap progress_stop EXIT
        find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -path "$out" -delete
    fi
    echo "$out"
}

main() {
    local pkg kernel initrd
    # Concurrent callers (tests, benchmarks) share the cache.
    exec 9>"$cache/.lock"
    flock -n 9 || { log "waiting for another preparation of the arm64 guest to finish"; flock 9; }
    pkg=$(ensure_arm64_apt)
    kernel=$(ensure_kernel "$pkg")
    initrd=$(ensure_initramfs)
    echo "KERNEL=$kernel"
    echo "INITRD=$initrd"
}

main "$@"
