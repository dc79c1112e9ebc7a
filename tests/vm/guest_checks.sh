# shellcheck shell=sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the end-to-end checks (busybox sh in the test guest).
# Expects DIGEST (64 hex digits) to be set; prints PCR23=... and, when
# everything passed, CHECKS-OK.
fail() { echo "CHECK-FAIL: $*"; exit 1; }

[ -c /dev/tpm0 ] || fail "/dev/tpm0 missing"
[ -c /dev/tpmrm0 ] || fail "/dev/tpmrm0 missing"
driver=$(readlink /sys/class/tpm/tpm0/device/driver)
case "$driver" in
*/tpm_crb) ;;
*) fail "tpm0 is bound to '$driver', not tpm_crb" ;;
esac
[ "$(cat /sys/class/tpm/tpm0/tpm_version_major)" = 2 ] || fail "not a TPM 2.0"
dmesg | grep -i -e tpm -e MSFT0101

random=$(tpm2 getrandom --hex 16) || fail "tpm2 getrandom"
[ ${#random} -eq 32 ] || fail "getrandom returned '$random'"
echo "RANDOM=$random"
# The raw character device, without the resource manager.
tpmloop -n 50 /dev/tpm0 || fail "GetRandom through /dev/tpm0"

tpm2 pcrextend "23:sha256=$DIGEST" || fail "tpm2 pcrextend"
pcr=$(tpm2 pcrread sha256:23 | sed -n 's/.*23: 0x//p')
[ -n "$pcr" ] || fail "tpm2 pcrread"
echo "PCR23=$pcr"
echo "CHECKS-OK"
