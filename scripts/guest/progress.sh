# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the guest preparation scripts, which define log(). A first run
# fetches and builds for minutes; these say what is going on and how far.
#
#   progress_stage N/M TEXT a line when a stage starts
#   progress_start TEXT     then a line every ${TPMCRB_PROGRESS_SECONDS:-15} s
#                           with the time spent, until
#   progress_stop
# The caller sets `trap progress_stop EXIT`, so that no ticker outlives a
# failed step.

progress_stage() { log "[$1] $2"; }

progress_pid=

progress_start() {
    local what=$1 start
    start=$(date +%s)
    progress_stop
    (
        trap - EXIT
        while sleep "${TPMCRB_PROGRESS_SECONDS:-15}"; do
            log "... $what: $(($(date +%s) - start)) s"
        done
    ) >/dev/null 9>&- &
    progress_pid=$!
}

progress_stop() {
    [ -n "$progress_pid" ] || return 0
    kill "$progress_pid" 2>/dev/null || true
    wait "$progress_pid" 2>/dev/null || true
    progress_pid=
}
