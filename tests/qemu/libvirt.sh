#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Unchanged libvirt (Debian 12's 9.0) runs the patched QEMU with the TPM
# every libvirt user writes:
#   <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
# A private libvirtd defines a direct-kernel-boot q35 domain whose
# <emulator> is the patched QEMU; libvirt probes that binary, runs
# swtpm_setup and swtpm itself and writes QEMU's command line. Asserted:
#   guest: tpm_crb binds to MSFT0101, tpm2_getrandom gives 16 bytes, PCR 16
#          after three extends equals the value computed here, a loop of
#          TPM2_GetRandom on /dev/tpm0 runs, and the EK certificate that
#          libvirt's swtpm_setup stored (NV index 0x1c00002) is there;
#   host:  the command line libvirt wrote has -tpmdev emulator and the
#          tpm-crb device; QEMU's /machine/peripheral/tpm0 is a tpm-crb whose
#          libtpmcrb statistic `commands` (stock tpm-crb has no such
#          property) counted at least the guest loop's commands; the swtpm
#          libvirt started serves it and goes when the domain is destroyed;
#   control: the same domain on Debian's own QEMU 10 binary starts too and
#          its tpm-crb (QEMU's) has no `commands` (not booted).
#
# The daemon is private: it runs in a mount namespace of its own, where
# /etc/libvirt is this test's folder (libvirtd.conf, qemu.conf, domain
# definitions), /var and /run are overlays whose writes stay in a tmpfs
# (libvirt's state, logs, capability cache, swtpm's state and logs,
# swtpm-localca's certificates), D-Bus and systemd are hidden and no cgroup
# hierarchy is mounted (so it registers nothing with systemd-machined or
# logind and makes no cgroups). Nothing of the machine's libvirt, swtpm or
# cgroup state is touched, and a system libvirtd, if one runs, is not
# talked to. The script prepares QEMU and the guest first (build-qemu and
# prepare.sh may install packages: that must reach the real /var), then
# runs itself again inside the namespace.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

domain=tpmcrb-libvirt
loop_commands=300

outer() {
    local tool
    for tool in libvirtd virsh swtpm swtpm_setup unshare; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
    done
    # A mount namespace needs root (as does the system instance of libvirt).
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo -n true 2>/dev/null || fail "needs root or password-less sudo (a private mount namespace for libvirtd)"
        as_root=(sudo -n)
    fi
    QEMU=$(patched_qemu)
    prepare_guest
    say "qemu: $QEMU"
    {
        echo 'fail() { echo "GUEST-FAIL: $*"; exit 1; }'
        echo 'dmesg | grep -i tpm'
        echo '[ -c /dev/tpm0 ] && [ -c /dev/tpmrm0 ] || fail "no /dev/tpm0 or /dev/tpmrm0"'
        echo 'ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"'
        echo 'r=$(tpm2_getrandom --hex 16) || fail "tpm2_getrandom"'
        echo 'echo "RANDOM $r"'
        echo 'for i in 1 2 3; do'
        echo '    tpm2_pcrextend 16:sha256=$(printf "%064x" $i) || fail "pcrextend $i"'
        echo 'done'
        echo "echo \"PCR16 \$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')\""
        echo "tpmloop -n $loop_commands /dev/tpm0 || fail tpmloop"
        # libvirt's swtpm_setup stored an RSA EK certificate at 0x1c00002.
        echo 'tpm2_nvreadpublic 0x1c00002 >/dev/null && echo "EKCERT present"'
        # The host reads the device's counters from the running QEMU and
        # then destroys the domain.
        echo 'echo GUEST-READY'
        echo 'sleep 600'
    } >"$tmp/guest.sh"
    guest_initrd "$tmp/guest.sh" "$tmp/initrd"
    # The second run's scratch folder inside this one's: removed with it
    # from the real file system, whatever the namespace hid.
    STOCK_QEMU=$(stock_qemu)
    "${as_root[@]}" env QEMU="$QEMU" STOCK_QEMU="$STOCK_QEMU" KERNEL="$KERNEL" \
        GUEST_INITRD="$tmp/initrd" TMPDIR="$tmp" TPMCRB_SRCDIR="$src" \
        unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" --private
}

# Make this mount namespace's view of the machine private (see the top).
private_machine() {
    local d m
    mkdir -p "$tmp/ns" "$tmp/etc" "$tmp/empty"
    mount -t tmpfs -o mode=0700 tpmcrb-libvirt "$tmp/ns"
    for d in /var /run; do
        mkdir -p "$tmp/ns$d/upper" "$tmp/ns$d/work"
        mount -t overlay overlay \
            -o "lowerdir=$d,upperdir=$tmp/ns$d/upper,workdir=$tmp/ns$d/work" "$d"
    done
    for d in /run/dbus /run/systemd; do
        [ ! -d "$d" ] || mount --bind "$tmp/empty" "$d"
    done
    [ -d /etc/libvirt ] || fail "no /etc/libvirt (libvirt-clients installs it)"
    mount --bind "$tmp/etc" /etc/libvirt
    # Lazily detached, each with the mounts below it.
    while m=$(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2; exit }' /proc/mounts) &&
          [ -n "$m" ]; do
        umount -l "$m" || fail "cannot detach $m in the namespace"
    done
}

write_config() {
    mkdir -p "$tmp/sock" "$tmp/drivers"
    cat >"$tmp/etc/libvirtd.conf" <<EOF
# A private libvirtd of tests/qemu/libvirt.sh: its sockets in the test's
# folder, for root only, no authentication.
unix_sock_dir = "$tmp/sock"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$tmp/libvirtd.log"
EOF
    cat >"$tmp/etc/qemu.conf" <<EOF
# QEMU and swtpm run as root, on files no one else may use: no user of
# their own (libvirt-qemu and tss are not needed), no relabelling.
user = "root"
group = "root"
swtpm_user = "root"
swtpm_group = "root"
dynamic_ownership = 0
remember_owner = 0
# No AppArmor or SELinux confinement: the emulator, kernel and initramfs
# are in build and cache folders that no profile of the machine allows.
security_driver = "none"
# No /dev namespace for QEMU; QEMU's stdout and stderr to a file, not
# through virtlogd (which only the system's service manager would start).
namespaces = [ ]
stdio_handler = "file"
EOF
    # The QEMU driver alone: the network, storage, nodedev, nwfilter, ...
    # drivers would probe the machine at start and are not needed.
    local driver
    driver=$(dpkg -L libvirt-daemon-driver-qemu 2>/dev/null | grep '/libvirt_driver_qemu\.so$' | head -n 1)
    [ -e "$driver" ] || fail "libvirt's QEMU driver is not installed (libvirt-daemon-driver-qemu)"
    ln -s "$driver" "$tmp/drivers/"
}

# domain_xml NAME EMULATOR: the domain, a direct kernel boot of the guest
# with the stock TPM element; its console in $tmp/NAME.log.
domain_xml() {
    cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$GUEST_INITRD</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$2</emulator>
    <serial type='file'>
      <source path='$tmp/$1.log'/>
      <target port='0'/>
    </serial>
    <tpm model='tpm-crb'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

libvirtd_pid=
virsh_() { virsh -q -c "$uri" "$@"; }

start_libvirtd() {
    local i
    uri="qemu+unix:///system?socket=$tmp/sock/libvirt-sock"
    LIBVIRT_DRIVER_DIR=$tmp/drivers libvirtd --config "$tmp/etc/libvirtd.conf" \
        --pid-file "$tmp/libvirtd.pid" </dev/null >"$tmp/libvirtd.out" 2>&1 &
    libvirtd_pid=$!
    for ((i = 0; i < 300; i++)); do
        virsh_ version >/dev/null 2>&1 && return 0
        kill -0 "$libvirtd_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$tmp/libvirtd.out" "$tmp/libvirtd.log" 2>/dev/null || true
    fail "the private libvirtd did not answer"
}

# On any exit: the domains (their QEMU and swtpm are not libvirtd's
# children once started), then the daemon.
stop_all() {
    local pid name
    if [ -n "$libvirtd_pid" ]; then
        for name in "$domain" "$domain-stock"; do
            virsh_ destroy "$name" >/dev/null 2>&1 || true
        done
        kill "$libvirtd_pid" 2>/dev/null || true
        wait "$libvirtd_pid" 2>/dev/null || true
    fi
    for pid in $(cat /run/libvirt/qemu/*.pid /run/libvirt/qemu/swtpm/*.pid 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
    done
    # The overlays' tmpfs goes with the namespace; detached here so that
    # the scratch folder can be removed.
    umount -l "$tmp/ns" 2>/dev/null || true
    cleanup
}

# show_logs NAME: the ends of the guest's console and of libvirt's,
# QEMU's and swtpm's logs.
show_logs() {
    tail -n 40 "$tmp/$1.log" 2>/dev/null || true
    tail -n 20 "/var/log/libvirt/qemu/$1.log" "$tmp/libvirtd.log" \
        /var/log/swtpm/libvirt/qemu/*.log 2>/dev/null || true
}

# start_domain NAME EMULATOR: define and start it; QEMU_PID, SWTPM_PID.
start_domain() {
    domain_xml "$1" "$2" >"$tmp/$1.xml"
    virsh_ define "$tmp/$1.xml" >/dev/null || { show_logs "$1"; fail "virsh define $1 failed"; }
    virsh_ start "$1" >/dev/null || { show_logs "$1"; fail "virsh start $1 failed"; }
    QEMU_PID=$(cat "/run/libvirt/qemu/$1.pid")
    SWTPM_PID=$(cat "/run/libvirt/qemu/swtpm/"*"-$1-swtpm.pid")
}

# check_started NAME EMULATOR: libvirt ran EMULATOR with -tpmdev emulator,
# a tpm-crb device and a swtpm of its own (state in its folder).
check_started() {
    local cmdline
    [ "$(readlink -f "/proc/$QEMU_PID/exe")" = "$(readlink -f "$2")" ] ||
        fail "$1: libvirt did not run $2"
    cmdline=$(tr '\0' ' ' <"/proc/$QEMU_PID/cmdline")
    grep -q -- '-tpmdev emulator,' <<<"$cmdline" || fail "$1: no -tpmdev emulator: $cmdline"
    grep -q -- '-device {"driver":"tpm-crb"\|-device tpm-crb,' <<<"$cmdline" ||
        fail "$1: no tpm-crb device: $cmdline"
    tr '\0' ' ' <"/proc/$SWTPM_PID/cmdline" | grep -q -- '--tpmstate dir=/var/lib/libvirt/swtpm/' ||
        fail "$1: libvirt's swtpm does not run"
    grep -o -- '-tpmdev [^ ]*\|-device {"driver":"tpm-crb"[^ ]*\|-device tpm-crb[^ ]*' <<<"$cmdline" |
        sed "s/^/[$1] /"
}

# stop_domain NAME: destroy it; libvirt stops its swtpm.
stop_domain() {
    local i
    virsh_ destroy "$1" >/dev/null || fail "virsh destroy $1 failed"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SWTPM_PID" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$SWTPM_PID" 2>/dev/null || fail "$1: swtpm still runs after the domain was destroyed"
    virsh_ undefine "$1" >/dev/null || fail "virsh undefine $1 failed"
}

# qom_get NAME PROPERTY: the property of the domain's TPM device (libvirt
# names it tpm0), as JSON; fails when QEMU has no such property.
qom_get() {
    virsh_ qemu-monitor-command "$1" \
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/tpm0\",\"property\":\"$2\"}}" |
        python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["return"]))'
}

inner() {
    local start type commands expected log=$tmp/$domain.log
    trap stop_all EXIT
    export XDG_CONFIG_HOME=$tmp/xdg/config XDG_CACHE_HOME=$tmp/xdg/cache \
        XDG_RUNTIME_DIR=$tmp/xdg/run
    private_machine
    write_config
    start_libvirtd
    say "private libvirtd $(libvirtd --version | awk '{ print $NF }') answers on $tmp/sock"

    start=$SECONDS
    start_domain "$domain" "$QEMU"
    say "$domain started ($QEMU)"
    wait_for_line "$log" '^GUEST-READY\|^TPMCRB-GUEST-EXIT=\|^GUEST-FAIL' 300 ||
        { show_logs "$domain"; fail "the guest did not finish its TPM checks"; }
    grep -q '^GUEST-READY' "$log" || { show_logs "$domain"; fail "the guest's TPM checks failed"; }
    say "the guest ran its checks in $((SECONDS - start)) s"
    grep -E '^(RANDOM|PCR16|TPMLOOP|EKCERT)' "$log" | tr -d '\r'
    check_started "$domain" "$QEMU"

    # The device is libtpmcrb's: its statistic counted the guest's commands.
    type=$(qom_get "$domain" type) || fail "no /machine/peripheral/tpm0"
    [ "$type" = '"tpm-crb"' ] || fail "/machine/peripheral/tpm0 is a $type"
    commands=$(qom_get "$domain" commands) || fail "tpm-crb has no libtpmcrb statistic 'commands'"
    say "tpm-crb (libtpmcrb) counted $commands commands"
    [ "$commands" -ge "$loop_commands" ] ||
        fail "the device counted $commands commands, fewer than the guest's loop of $loop_commands"

    expected=$(extend_chain 3)
    [ "$(val "$log" RANDOM | wc -c)" -eq 33 ] || fail "tpm2_getrandom gave no 16 bytes"
    [ "$(val "$log" PCR16 | tr 'A-F' 'a-f')" = "$expected" ] ||
        fail "PCR 16 is $(val "$log" PCR16), expected $expected"
    say "PCR 16 matches the host: $expected"
    [ "$(val "$log" EKCERT)" = present ] ||
        fail "the guest found no EK certificate (NV 0x1c00002) from libvirt's swtpm_setup"
    say "the guest reads the EK certificate index libvirt's swtpm_setup wrote"
    stop_domain "$domain"

    # Control: the same domain on Debian's own QEMU 10 (no boot needed):
    # libvirt gives it the same TPM, whose tpm-crb is QEMU's and has no
    # libtpmcrb statistics, so the check above tells the two apart.
    start_domain "$domain-stock" "$STOCK_QEMU"
    check_started "$domain-stock" "$STOCK_QEMU"
    type=$(qom_get "$domain-stock" type) || fail "stock: no /machine/peripheral/tpm0"
    [ "$type" = '"tpm-crb"' ] || fail "stock: /machine/peripheral/tpm0 is a $type"
    ! qom_get "$domain-stock" commands >/dev/null 2>&1 ||
        fail "stock QEMU's tpm-crb has a property 'commands'"
    stop_domain "$domain-stock"
    say "control: the same domain on $STOCK_QEMU has QEMU's own tpm-crb (no 'commands')"
    say "PASS: unchanged libvirt $(libvirtd --version | awk '{ print $NF }'), stock <tpm model='tpm-crb'> on libvirt's swtpm: tpm_crb, getrandom, PCR extend; libtpmcrb's device counted $commands commands"
}

if [ "${1:-}" = --private ]; then
    inner
else
    outer
fi
