#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A policy session started in one call, extended in a second and read in a
# third: the pipe must keep a context-saved session alive across processes
# (not flush it at exit) and resume the TPM's volatile state.
. "$(dirname "$0")/lib.sh"

t2 startauthsession -S s.ctx --policy-session || fail "startauthsession"
t2 policypcr -S s.ctx -l sha256:16 -L policy.bin >/dev/null || fail "policypcr in a later call"
t2 getpolicydigest -S s.ctx -o digest.bin >/dev/null || fail "getpolicydigest in a third call"
cmp -s policy.bin digest.bin ||
    fail "session digest $(hex digest.bin) != policypcr's $(hex policy.bin)"
t2 flushcontext s.ctx || fail "flushcontext of the saved session"
t2 getpolicydigest -S s.ctx -o again.bin >/dev/null 2>&1 &&
    fail "the session is still usable after flushcontext"
echo "ok"
