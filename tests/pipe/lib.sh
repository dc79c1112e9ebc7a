# SPDX-License-Identifier: BSD-3-Clause
# Shared set-up for the `tpmcrb pipe` tests (sourced): a scratch directory,
# the TCTI string, and helpers that say why a check failed.
set -eu

: "${TPMCRB:?TPMCRB must name the tpmcrb binary}"
if ! command -v tpm2 >/dev/null 2>&1; then
    echo "SKIP: tpm2-tools (tpm2) is not installed"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-pipe-test.XXXXXX")
# Only the test's own shell removes WORK. A child that bash forks (the
# watchdog of signals.sh, a loop in a subshell, a command before its exec)
# starts with this trap still set; SIGTERM before the child has reset its
# traps makes bash run the EXIT trap in the child, which then removed the
# scratch directory under the running test. No exit status decides it (in
# that half-forked child bash can report a wrong status for a command, even
# for `[`): the path is looked up by the PID of the shell running the trap
# and is empty in any child, leaving rm nothing to remove.
declare -A SCRATCH_OWNER=(["$$"]=$WORK)
trap 'rm -rf -- ${SCRATCH_OWNER[$BASHPID]:+"${SCRATCH_OWNER[$BASHPID]}"}' EXIT
cd "$WORK"
STATE=$WORK/state
TCTI="cmd:$TPMCRB pipe --state $STATE"
LIMIT=${TPMCRB_TEST_TIMEOUT:-60}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# tpm2 SUBCOMMAND ARGS... against the test's state directory.
t2() {
    local sub=$1
    shift
    timeout "$LIMIT" tpm2 "$sub" -T "$TCTI" "$@"
}

# The cmd TCTI does not wait for its pipe to exit: wait until no pipe runs
# on directory $1, so that none holds it any more (nor its rm-client
# record, which a pipe removes as it exits).
pipes_gone() {
    for _ in $(seq 200); do
        pgrep -f -- "^$TPMCRB pipe --state $1\$" >/dev/null || return 0
        sleep 0.05
    done
    fail "pipes still running: $(pgrep -af -- "pipe --state $1")"
}

# Lower-case hex of a file, and bytes from hex (spaces allowed).
hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
unhex() { printf '%b' "$(printf '%s' "$*" | tr -d ' ' | sed 's/../\\x&/g')"; }

sha256_hex() { sha256sum "$@" | cut -d' ' -f1; }

# Response code (8 hex digits) of a raw response file, at @offset (default 0).
rsp_code() { od -An -v -tx1 -j $((${2:-0} + 6)) -N4 "$1" | tr -d ' \n'; }

# Wait until FILE holds at least N bytes (or give up after 20 s).
wait_size() {
    local i
    for i in $(seq 1 400); do
        [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "$1 never reached $2 bytes"
}

# A secret (@1) sealed under a PCR 0 policy: seal.pub/seal.priv under a
# primary key, loaded into seal.ctx; the policy digest in pol.bin. Only a
# policy session (tpm2 unseal -p pcr:sha256:0) opens it.
make_sealed() {
    t2 createprimary -C o -G ecc -c prim.ctx >/dev/null || fail "createprimary"
    t2 pcrread sha256:0 -o pcr0.bin >/dev/null || fail "pcrread"
    t2 createpolicy --policy-pcr -l sha256:0 -f pcr0.bin -L pol.bin >/dev/null ||
        fail "createpolicy"
    printf '%s' "$1" | t2 create -C prim.ctx -L pol.bin -i- -u seal.pub \
        -r seal.priv >/dev/null || fail "create sealed object"
    t2 load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx >/dev/null ||
        fail "load sealed object"
}
