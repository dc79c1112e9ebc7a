#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Big-endian check: cross-build tpmcrb for s390x and run its C unit suites
# under qemu-user (qemu-s390x), so that anything the guest sees or a file
# holds in host byte order shows up as a failure on an x86 machine.
#
# The s390x libraries (libtpms, cmocka, OpenSSL, glibc) come from Debian's
# own s390x packages, fetched with `apt-get download` through a private apt
# configuration (the host's apt setup is left alone; a multiarch install is
# not used because the mirror's s390x and amd64 libssl3 can differ in
# version) and unpacked with `dpkg -x` into a sysroot that is cached.
#
#   scripts/cross-s390x.sh            build and run the unit suites
#   scripts/cross-s390x.sh --build    build only
# Environment: TPMCRB_CACHE (default ~/.cache/tpmcrb), TPMCRB_S390X_BUILD
# (default build-s390x), TPMCRB_DEBIAN_MIRROR (default deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=1
[ "${1:-}" = "--build" ] && run=0

cache=${TPMCRB_CACHE:-$HOME/.cache/tpmcrb}
sysroot=$cache/s390x-sysroot
build=${TPMCRB_S390X_BUILD:-$root/build-s390x}
mirror=${TPMCRB_DEBIAN_MIRROR:-http://deb.debian.org}
# Runtime and development packages of everything the library and its unit
# tests link; the cross compiler brings its own libc headers.
packages=(libc6 libgcc-s1 libtpms0 libtpms-dev libcmocka0 libcmocka-dev
          libssl3 libssl-dev libtss2-rc0 libtss2-dev)

for tool in s390x-linux-gnu-gcc qemu-s390x apt-get dpkg; do
    command -v "$tool" >/dev/null || {
        echo "cross-s390x: $tool is missing (scripts/deps.sh installs it)" >&2
        exit 1
    }
done

# The package list is part of the cache key: a changed list builds anew.
stamp="${packages[*]}"

make_sysroot() {
    local tmp codename
    tmp=$(mktemp -d "$cache/s390x-sysroot.XXXXXX")
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    mkdir -p "$tmp/apt/lists/partial" "$tmp/apt/archives/partial" \
             "$tmp/apt/etc/preferences.d" "$tmp/apt/etc/sources.list.d" \
             "$tmp/debs" "$tmp/root"
    : > "$tmp/apt/status"
    cat > "$tmp/apt/etc/sources.list" <<EOF
deb [arch=s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror/debian $codename main
deb [arch=s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror/debian $codename-updates main
deb [arch=s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror/debian-security $codename-security main
EOF
    # Everything apt reads or writes is inside $tmp/apt: the host's lists,
    # architectures and sources stay as they are.
    cat > "$tmp/apt/apt.conf" <<EOF
Dir::State "$tmp/apt";
Dir::State::Lists "$tmp/apt/lists";
Dir::State::status "$tmp/apt/status";
Dir::Cache "$tmp/apt";
Dir::Cache::archives "$tmp/apt/archives";
Dir::Etc::sourcelist "$tmp/apt/etc/sources.list";
Dir::Etc::sourceparts "$tmp/apt/etc/sources.list.d";
Dir::Etc::preferences "$tmp/apt/etc/preferences";
Dir::Etc::preferencesparts "$tmp/apt/etc/preferences.d";
APT::Architecture "s390x";
APT::Architectures { "s390x"; };
Debug::NoLocking "true";
APT::Sandbox::User "root";
EOF
    echo "cross-s390x: fetching s390x packages: ${packages[*]}" >&2
    APT_CONFIG=$tmp/apt/apt.conf apt-get -q update >&2
    (cd "$tmp/debs" && APT_CONFIG=$tmp/apt/apt.conf apt-get -q download "${packages[@]}" >&2)
    for deb in "$tmp"/debs/*.deb; do
        dpkg -x "$deb" "$tmp/root"
    done
    # Absolute symlinks in the packages (libfoo.so -> /lib/...) would
    # point at the host's files: make them relative, inside the sysroot.
    find "$tmp/root" -type l -lname '/*' | while read -r link; do
        target=$tmp/root$(readlink "$link")
        ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$target")" "$link"
    done
    echo "$stamp" > "$tmp/root/.tpmcrb-packages"
    rm -rf "$sysroot.old"
    [ -d "$sysroot" ] && mv "$sysroot" "$sysroot.old"
    mv "$tmp/root" "$sysroot"
    rm -rf "$tmp" "$sysroot.old"
}

mkdir -p "$cache"
# One checkout at a time builds the shared sysroot (exclusive lock), and
# none replaces it while another builds or tests with it (shared lock,
# held until this script exits).
exec 9>"$cache/s390x-sysroot.lock"
flock 9
if [ "$(cat "$sysroot/.tpmcrb-packages" 2>/dev/null)" != "$stamp" ]; then
    make_sysroot
fi
flock -s 9

multiarch=$sysroot/usr/lib/s390x-linux-gnu
cross=$cache/s390x-cross.ini
# Shared by every checkout: written aside and renamed into place.
new=$(mktemp "$cache/s390x-cross.XXXXXX")

cat > "$new" <<EOF
[binaries]
c = 's390x-linux-gnu-gcc'
ar = 's390x-linux-gnu-ar'
strip = 's390x-linux-gnu-strip'
pkg-config = 'pkg-config'
exe_wrapper = ['qemu-s390x', '-L', '$sysroot']

[properties]
sys_root = '$sysroot'
pkg_config_libdir = ['$multiarch/pkgconfig', '$sysroot/usr/share/pkgconfig']

[built-in options]
# The sysroot's headers are system headers, as on the host (no pedantic
# warnings from their macros); Debian keeps architecture-specific ones
# (opensslconf.h) in the multiarch folder, which pkg-config does not name.
c_args = ['-isystem', '$sysroot/usr/include',
          '-idirafter', '$sysroot/usr/include/s390x-linux-gnu']
c_link_args = ['-L$multiarch', '-Wl,-rpath-link,$multiarch']

[host_machine]
system = 'linux'
cpu_family = 's390x'
cpu = 's390x'
endian = 'big'
EOF
if ! cmp -s "$new" "$cross" || [ ! -f "$build/build.ninja" ]; then
    chmod 644 "$new"
    mv "$new" "$cross"
    rm -rf "$build"
    meson setup "$build" --cross-file "$cross" >/dev/null
else
    rm -f "$new"
fi

echo "== s390x: build ($build)"
ninja -C "$build" --quiet
[ "$run" = 1 ] || exit 0

# Every test that is a C program of this tree runs, so new C tests are
# covered without being listed; scripts (they exec the tool, and no
# binfmt_misc is assumed for s390x binaries) are left out, and so are:
excluded=(
    soak                # a benchmark of 100,000 commands, not a unit test
    passthrough-device  # needs a TPM character device
    swtpm-backend       # child_exits_when_we_die needs PR_SET_CHILD_SUBREAPER,
                        # which qemu-user does not emulate
)
mapfile -t run_tests < <(meson introspect "$build" --tests | python3 -c '
import json, os, sys
build, excluded = os.path.realpath(sys.argv[1]), set(sys.argv[2:])
for t in json.load(sys.stdin):
    prog = os.path.realpath(t["cmd"][0])
    if prog.startswith(build + os.sep) and t["name"] not in excluded:
        print(t["name"])' "$build" "${excluded[@]}")
# The suites issue 19 names must be among them.
for t in os-wait core-registers core-replay-firmware-and-linux snapshot \
         migrate snapshot-fixtures state-store libtpms-backend platform-aml \
         platform-acpi transport-poll; do
    printf '%s\n' "${run_tests[@]}" | grep -qx "$t" || {
        echo "cross-s390x: test $t is missing from the s390x build" >&2
        exit 1
    }
done
echo "== s390x: ${#run_tests[@]} C test programs under qemu-s390x"
meson test -C "$build" --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 "${run_tests[@]}"
# Each of them can run here: a skip is a failure of this check.
python3 -c 'import json, sys
skipped = [t["name"] for t in map(json.loads, open(sys.argv[1]))
           if t["result"] == "SKIP"]
if skipped:
    sys.exit("cross-s390x: skipped on s390x: " + " ".join(skipped))' \
    "$build/meson-logs/testlog.json"
