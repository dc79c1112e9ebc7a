#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# libvirt, unchanged: libvirt's own QEMU driver runs the patched QEMU from
# a domain whose TPM is the stock element
#     <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
# so libvirt runs swtpm_setup and swtpm itself and writes the -tpmdev
# emulator / -device tpm-crb command line it writes for any QEMU. The
# driver is a private instance: virt-qemu-run (Debian's libvirt 9.0 has no
# virtqemud; this is libvirt's embedded QEMU driver) with every
# configuration, state and run directory under its own --root. The default
# Linux guest boots by direct kernel boot and uses its TPM.
# The build installs no firmware: the domain passes QEMU -L for Debian's
# SeaBIOS (qemu:commandline), nothing else is added to the stock XML.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v virt-qemu-run >/dev/null ||
    skip "virt-qemu-run is not installed (scripts/deps.sh: libvirt-daemon-driver-qemu)"
command -v swtpm_setup >/dev/null || skip "swtpm_setup (swtpm-tools) is not installed"
QEMU=$(patched_qemu)
prepare_guest

cat >"$tmp/guest.sh" <<'G'
fail() { echo "GUEST-FAIL: $*"; exit 1; }
ls /sys/bus/acpi/drivers/tpm_crb/ | grep -q MSFT0101 || fail "tpm_crb is not bound"
r=$(tpm2_getrandom --hex 16) || fail "tpm2_getrandom"
echo "RANDOM $r"
tpm2_pcrextend 16:sha256=$(printf '%064x' 1) || fail "pcrextend"
echo "PCR16 $(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p')"
G
guest_initrd "$tmp/guest.sh" "$tmp/initrd"

root=$tmp/libvirt
mkdir -p "$root/etc"
# The instance runs QEMU and swtpm as the caller (Debian's default user,
# libvirt-qemu, belongs to libvirt-daemon-system, which is not needed).
cat >"$root/etc/qemu.conf" <<CONF
user = "$(id -un)"
group = "$(id -gn)"
swtpm_user = "$(id -un)"
swtpm_group = "$(id -gn)"
CONF
cat >"$tmp/domain.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>tpmcrb-libvirt-test</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$tmp/initrd</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$QEMU</emulator>
    <serial type='file'>
      <source path='$tmp/console.log'/>
      <target port='0'/>
    </serial>
    <tpm model='tpm-crb'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/seabios'/>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/qemu'/>
  </qemu:commandline>
</domain>
XML

say "virt-qemu-run --root $root (libvirt's QEMU driver, private)"
timeout 600 virt-qemu-run --root "$root" --verbose "$tmp/domain.xml" \
    </dev/null >"$tmp/virt-qemu-run.log" 2>&1 || true
cmdline=$(find "$root" -name 'tpmcrb-libvirt-test.log' -path '*qemu*' | head -n 1)
if [ -n "$cmdline" ]; then
    grep -o -- '-tpmdev [^ ]*\|-device [^ ]*tpm-crb[^ ]*' "$cmdline" | sort -u
fi
tr -d '\r' <"$tmp/console.log" >"$tmp/guest.log" 2>/dev/null || true
if ! grep -q '^TPMCRB-GUEST-EXIT=0' "$tmp/guest.log"; then
    cat "$tmp/virt-qemu-run.log"
    [ -n "$cmdline" ] && cat "$cmdline"
    tail -n 30 "$tmp/guest.log"
    fail "the guest did not finish its TPM checks"
fi
[ -n "$cmdline" ] && grep -q -- '-device.*tpm-crb' "$cmdline" ||
    fail "libvirt's QEMU command line has no tpm-crb"
grep -q 'swtpm' "$cmdline" || find "$root" -name '*swtpm*' | grep -q . ||
    fail "libvirt did not run swtpm"
[ "$(val "$tmp/guest.log" PCR16)" = "$(extend_chain 1)" ] ||
    fail "PCR 16 is $(val "$tmp/guest.log" PCR16)"
say "PASS: libvirt ran swtpm_setup, swtpm and the patched QEMU from the stock <tpm> element; the guest's TPM works"
