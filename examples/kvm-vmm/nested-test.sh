#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run KVM programs where the host has no /dev/kvm: boot a Linux guest under
# QEMU's TCG with `-cpu max`, which emulates AMD SVM with nested paging,
# load kvm and kvm-amd in it, and run the given command there, where
# /dev/kvm exists. Everything is emulated, so it is slow (an exit costs a
# few hundred microseconds), but it is real KVM: KVM_MEM_READONLY slots,
# KVM_EXIT_MMIO and all.
#
#   nested-test.sh [--timeout SECONDS] [--bin PATH]... [--run 'SHELL COMMAND']
#
# Each --bin is copied to /bin in the guest with the shared libraries it
# needs (found with ldd); --run is run by the guest's sh with /bin on PATH
# (default: tpmcrb-kvm-vmm's demo). The command's exit status is this
# script's; 77 means "skipped" (no QEMU, no kernel), as meson reads it.
#
# The kernel is the default test guest's (Debian's linux-image-*-amd64,
# see scripts/guest/prepare.sh); the kvm modules come from the same package,
# fetched with apt-get download once and cached under
# ${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}/kvm-modules-VERSION.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}
timeout_s=600
bins=()
run='tpmcrb-kvm-vmm'

log() { echo "nested: $*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
die() { log "$*"; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --run) run=$2; shift 2 ;;
    *) die "unknown argument $1 (see the comment at the top of $0)" ;;
    esac
done

command -v qemu-system-x86_64 >/dev/null ||
    skip "qemu-system-x86_64 not installed (Debian: qemu-system-x86)"
mkdir -p "$cache"

# ------------------------------------------------------------ kernel

# The newest cached test-guest kernel, else prepare.sh fetches one.
find_kernel() {
    local k
    # No cached kernel is no error: prepare.sh fetches one below.
    k=$( { ls -1d "$cache"/kernel-*/vmlinuz 2>/dev/null || true; } | sort -V | tail -n 1)
    if [ -z "$k" ]; then
        k=$("$here/../../scripts/guest/prepare.sh" | sed -n 's/^KERNEL=//p') ||
            skip "no test guest kernel (scripts/guest/prepare.sh failed)"
    fi
    [ -s "$k" ] || skip "no test guest kernel"
    echo "$k"
}

# ------------------------------------------------------------ modules

# The modules a .ko depends on, from its .modinfo section (no modinfo
# binary needed).
module_depends() {
    objcopy -O binary --only-section=.modinfo "$1" /dev/stdout |
        tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}

# Where kvm-amd and what it needs live in the package; unpacking it
# decompresses all of it (tens of seconds), so one pass takes these folders
# and only a missing dependency costs more passes.
MODULE_DIRS=(kernel/arch/x86/kvm kernel/virt kernel/drivers/crypto/ccp)

unpack() {
    dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "${@:3}"
}

# The module file for a name (dashes and underscores are the same), after
# unpacking it if the first pass missed it.
module_file() {
    local deb=$1 tmp=$2 name=$3 path
    path=$(find "$tmp" -name '*.ko*' | while read -r f; do
        m=$(basename "$f"); m=${m%%.ko*}
        [ "${m//-/_}" = "$name" ] && echo "$f" && break
    done)
    if [ -z "$path" ]; then
        log "unpacking $name from the package"
        path=$(dpkg-deb --fsys-tarfile "$deb" | tar -t |
               grep -E "/(${name//_/[-_]})\.ko(\.xz|\.zst)?\$" | head -n 1)
        [ -n "$path" ] || return 1
        unpack "$deb" "$tmp" "$path"
        path="$tmp/$path"
    fi
    case $path in
    *.xz) xz -d "$path"; path=${path%.xz} ;;
    *.zst) zstd -q -d --rm "$path"; path=${path%.zst} ;;
    esac
    echo "$path"
}

# Copy kvm_amd and, recursively first, what it depends on from the kernel
# package into $2, with their load order in $2/order.
fetch_modules() {
    local kver=$1 out=$2 tmp deb order=() d
    local -A seen=()
    tmp=$(mktemp -d "$cache/.kvm-modules.XXXXXX")
    log "fetching linux-image-$kver for its kvm modules (once)"
    local sandbox=()
    [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
    if ! (cd "$tmp" && apt-get download -q "${sandbox[@]}" "linux-image-$kver" >&2) &&
       ! (bash "$here/../../scripts/guest/apt-get" update -q >&2 &&
          cd "$tmp" && apt-get download -q "${sandbox[@]}" "linux-image-$kver" >&2); then
        rm -rf "$tmp"
        return 1
    fi
    deb=$(ls "$tmp"/*.deb)
    unpack "$deb" "$tmp" $(for d in "${MODULE_DIRS[@]}"; do echo "./lib/modules/*/$d/*"; done)
    visit() {
        local name=$1 file dep
        [ -z "${seen[$name]:-}" ] || return 0
        seen[$name]=1
        file=$(module_file "$deb" "$tmp" "$name") ||
            { log "module $name is not in the package"; return 1; }
        for dep in $(module_depends "$file"); do visit "${dep//-/_}" || return 1; done
        cp "$file" "$out/$name.ko"
        order+=("$name")
    }
    mkdir -p "$out"
    if visit kvm_amd; then
        printf '%s\n' "${order[@]}" > "$out/order"
    fi
    rm -rf "$tmp"
    [ -s "$out/order" ]
}

find_modules() {
    local kernel=$1 kver dir
    kver=$(basename "$(dirname "$kernel")"); kver=${kver#kernel-}
    dir="$cache/kvm-modules-$kver"
    if [ ! -s "$dir/order" ]; then
        exec 9>"$cache/.kvm-modules.lock"
        flock 9
        [ -s "$dir/order" ] || fetch_modules "$kver" "$dir.tmp" ||
            skip "cannot fetch linux-image-$kver for its kvm modules"
        [ -s "$dir/order" ] || mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# ------------------------------------------------------------ initramfs

copy_in() {
    mkdir -p "$1$(dirname "$2")"
    cp -L "$2" "$1$2"
}

build_initramfs() {
    local root=$1 modules=$2 out=$3 b lib
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules}
    cp /bin/busybox "$root/bin/busybox"
    for b in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$b" ] || ln -s busybox "$root/bin/$b"
    done
    cp "$modules"/*.ko "$modules/order" "$root/lib/modules/"
    for b in "${bins[@]}"; do
        [ -x "$b" ] || die "not an executable: $b"
        cp -L "$b" "$root/bin/"
        for lib in $(ldd "$b" 2>/dev/null |
                     awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
            copy_in "$root" "$lib"
        done
    done
    printf '%s\n' "$run" > "$root/run.sh"
    # The command's own limit leaves the boot a minute, so that a hung
    # command still gets reported from inside.
    echo "$(( timeout_s > 120 ? timeout_s - 60 : timeout_s ))" > "$root/timeout"
    cat > "$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin HOME=/tmp TPMCRB_KVM_VMM=/bin/tpmcrb-kvm-vmm
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" || echo "nested: insmod $m failed"
done
if [ -c /dev/kvm ]; then
    cd /tmp
    start=$(cut -d' ' -f1 /proc/uptime)
    timeout "$(cat /timeout)" sh /run.sh
    rc=$?
    [ "$rc" -lt 128 ] || echo "nested: the command did not finish in $(cat /timeout) s"
    echo "nested: command took $(awk -v s="$start" '{ print $1 - s }' /proc/uptime) s"
else
    echo "nested: no /dev/kvm in the guest:"
    dmesg | grep -i -E 'kvm|svm' | tail -n 5
    rc=77
fi
echo "NESTED-EXIT=$rc"
poweroff -f
EOF
    chmod +x "$root/init"
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        busybox cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$out"
}

# ------------------------------------------------------------ boot

main() {
    local kernel modules work out rc start
    kernel=$(find_kernel)
    modules=$(find_modules "$kernel")
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    build_initramfs "$work/root" "$modules" "$work/initrd.gz"
    log "booting $(basename "$(dirname "$kernel")") under TCG (-cpu max: SVM)"
    start=$(date +%s)
    # Two vCPUs: the device's worker thread runs beside the nested vCPU.
    timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max \
        -smp 2 -m 1024 -nographic -no-reboot -nic none \
        -kernel "$kernel" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1" </dev/null |
        tr -d '\r' | tee "$work/console" | grep -v -e '^SeaBIOS' -e '^Booting from' -e $'\e' || true
    log "QEMU ran $(( $(date +%s) - start )) s"
    rc=$(sed -n 's/^NESTED-EXIT=\([0-9]*\).*/\1/p' "$work/console" | tail -n 1)
    [ -n "$rc" ] || die "the guest did not finish (timeout ${timeout_s} s or crash)"
    exit "$rc"
}

main
