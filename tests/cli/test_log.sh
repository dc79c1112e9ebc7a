#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The tools' logs: --log-level and --log-file on every command, one message
# format ("tpmcrb COMMAND: LEVEL: ..."), timestamps in the log file, usage
# printed only after a usage error, response codes decoded.
set -uo pipefail
: "${TPMCRB:?set by meson}"
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-log.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for c in pipe vm serve acpi setup state bench; do
    "$TPMCRB" $c --log-level debug --log-file "$work/help.log" --help > "$work/help" 2>&1 ||
        bad "$c --log-level debug --log-file F --help exited $?"
    grep -q -- '--log-level' "$work/help" || bad "$c --help does not describe --log-level"
    grep -q -- '--log-file' "$work/help" || bad "$c --help does not describe --log-file"
done

"$TPMCRB" pipe --log-level loud < /dev/null 2> "$work/err"; rc=$?
[ $rc = 2 ] || bad "a bad --log-level exited $rc, not 2"
grep -q "^tpmcrb: error: --log-level must be error, warn, info, debug or trace, not 'loud'" "$work/err" ||
    bad "bad --log-level message: $(cat "$work/err")"

# A runtime error: the one format, and no usage text.
"$TPMCRB" pipe --backend no-such-backend < /dev/null 2> "$work/err"; rc=$?
[ $rc = 1 ] || bad "a runtime error exited $rc, not 1"
grep -q "^tpmcrb pipe: error: unknown backend 'no-such-backend'" "$work/err" ||
    bad "runtime error format: $(cat "$work/err")"
grep -q '^usage:' "$work/err" && bad "usage printed after a runtime error"
other=$(grep -v '^tpmcrb pipe: error: ' "$work/err")
[ -z "$other" ] || bad "lines in another format: $other"

# A usage error: the format (getopt's message too), then the usage.
"$TPMCRB" pipe --no-such-option 2> "$work/err"; rc=$?
[ $rc = 2 ] || bad "a usage error exited $rc, not 2"
grep -q "^tpmcrb pipe: error: unrecognized option '--no-such-option'" "$work/err" ||
    bad "getopt's message: $(head -n 2 "$work/err")"
grep -q '^usage: tpmcrb pipe' "$work/err" || bad "no usage after a usage error"
"$TPMCRB" bench pipe --no-such-option > /dev/null 2> "$work/err"
grep -q "^tpmcrb bench: error: unrecognized option '--no-such-option'" "$work/err" ||
    bad "a benchmark's getopt message: $(head -n 1 "$work/err")"

# --log-file: 0600, timestamped lines at the level asked; errors also on
# stderr; symlinks refused.
printf '\x80\x01\x00\x00\x00\x0c\x00\x00\x01\x44\x00\x00' > "$work/startup.bin"
"$TPMCRB" pipe --log-level trace --log-file "$work/pipe.log" \
    < "$work/startup.bin" > /dev/null 2> "$work/err" || bad "pipe with --log-file failed: $(cat "$work/err")"
[ -s "$work/err" ] && bad "non-errors on stderr with --log-file: $(cat "$work/err")"
[ "$(stat -c %a "$work/pipe.log")" = 600 ] || bad "the log file is not 0600"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z tpmcrb pipe: trace: command TPM2_Startup \(0x144\)' \
    "$work/pipe.log" || bad "no timestamped trace of TPM2_Startup in the log file"
grep -q 'tpmcrb pipe: trace: response rc 0 (tpm:success)' "$work/pipe.log" ||
    bad "response code not decoded: $(grep response "$work/pipe.log" | head -n 1)"
grep -q 'tpmcrb pipe: debug: ' "$work/pipe.log" || bad "trace level left out debug lines"
bad_lines=$(grep -Ev '^[0-9-]{10}T[0-9:.]{15}Z tpmcrb pipe: (error|warning|info|debug|trace): ' "$work/pipe.log")
[ -z "$bad_lines" ] || bad "log lines in another format: $(echo "$bad_lines" | head -n 3)"

"$TPMCRB" pipe --log-file "$work/pipe.log" --backend no-such-backend < /dev/null 2> "$work/err"
grep -q "^tpmcrb pipe: error: unknown backend" "$work/err" || bad "errors did not reach stderr with --log-file"
[ "$(grep -c "error: unknown backend" "$work/pipe.log")" = 1 ] || bad "the error is not in the log file"

ln -s "$work/elsewhere" "$work/link.log"
"$TPMCRB" pipe --log-file "$work/link.log" < /dev/null 2> "$work/err"; rc=$?
[ $rc = 1 ] || bad "--log-file through a symlink exited $rc, not 1"
[ -e "$work/elsewhere" ] && bad "--log-file followed a symlink"

# The levels, on the warning a new state directory gets: shown plainly by
# default, hidden by --log-level=error (given before the command), shown
# with a timestamp on stderr at info.
"$TPMCRB" pipe --state "$work/s1" < /dev/null 2> "$work/err"
grep -q "^tpmcrb pipe: warning: .*$work/s1" "$work/err" ||
    bad "default level: $(cat "$work/err")"
"$TPMCRB" --log-level=error pipe --state "$work/s2" < /dev/null 2> "$work/err"
[ -s "$work/err" ] && bad "--log-level=error printed: $(cat "$work/err")"
"$TPMCRB" pipe --state "$work/s3" --log-level info < /dev/null 2> "$work/err"
grep -Eq "^[0-9-]{10}T[0-9:.]{15}Z tpmcrb pipe: warning: .*$work/s3" "$work/err" ||
    bad "info level: no timestamped line: $(cat "$work/err")"

[ $fail = 0 ] && echo "logs: ok"
exit $fail
