#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_install.sh MESON: what `meson install --destdir` puts in a package,
# checked as a packager would: the files are there; the installed tool has
# no path of the source tree compiled in and finds its data from its own
# location; both manual pages render, and tpmcrb(1) describes every option
# that any --help prints; bash completion completes commands and options;
# the systemd unit is valid.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
meson=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmcrb-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

install_tree "$meson" "$work/dest" || exit 1
P=$PREFIX_DIR

# ------------------------------------------------------------ the files
for f in bin/tpmcrb include/tpmcrb.h share/man/man1/tpmcrb.1 \
         share/man/man3/libtpmcrb.3 share/bash-completion/completions/tpmcrb \
         lib/systemd/system/tpmcrb-serve@.service share/doc/tpmcrb/README.md \
         share/tpmcrb/guest/prepare.sh share/tpmcrb/guest/init \
         share/tpmcrb/guest/tpmloop.c share/tpmcrb/guest/prepare-arm64.sh \
         share/tpmcrb/guest/apt-get share/tpmcrb/guest/progress.sh; do
    [ -e "$P/$f" ] || bad "not installed: $f"
done
for f in libtpmcrb.so.0 tpmcrb.pc; do
    [ -n "$(find "$P" -name "$f")" ] || bad "not installed: $f"
done

# ------------------------------------------------------------ no source path
# The data is found from the executable's location; the source tree's path
# must not be in the program's data (debug info may name it, that is not
# what the program reads). tests/vm/vm_installed.sh boots a guest with the
# installed tool.
if command -v readelf > /dev/null; then
    if readelf -p .rodata "$BIN" | grep -F "$TPMCRB_SRCDIR" >/dev/null; then
        bad "the installed tpmcrb has the source path $TPMCRB_SRCDIR in .rodata"
    fi
fi

# ------------------------------------------------------------ manual pages
if command -v man > /dev/null; then
    for page in share/man/man1/tpmcrb.1 share/man/man3/libtpmcrb.3; do
        warnings=$(MANWIDTH=80 man --warnings -l "$P/$page" 2>&1 > "$work/page.txt")
        [ -z "$warnings" ] || bad "$page: man warns: $warnings"
        grep -q '^NAME' "$work/page.txt" || bad "$page does not render (no NAME section)"
    done
else
    bad "man is missing (scripts/deps.sh installs man-db)"
fi

# Every option of every --help, in tpmcrb(1). The page source with its
# escapes removed: \- is -, \fB and the like change fonts.
page_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$P/share/man/man1/tpmcrb.1")
check_help() { # check_help WHAT HELP_TEXT
    local opt
    for opt in $(printf '%s\n' "$2" | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
        grep -q -- "$opt\b" <<<"$page_text" ||
            bad "'$1 --help' prints option $opt, which tpmcrb(1) does not describe (add it to docs/man/tpmcrb.1)"
    done
}
help=$("$BIN" --help)
check_help tpmcrb "$help"
commands=$(sed -n '/^commands:/,$s/^  \([a-z][a-z0-9]*\) .*/\1/p' <<<"$help")
[ -n "$commands" ] || bad "no commands in tpmcrb --help"
for c in $commands; do
    grep -q "^\.SS $c\$" "$P/share/man/man1/tpmcrb.1" ||
        bad "command '$c' has no section in tpmcrb(1) (add .SS $c)"
    check_help "tpmcrb $c" "$("$BIN" "$c" --help)"
done
for b in $("$BIN" bench --help | sed -n '/^benchmarks:/,$s/^  \([a-z][a-z0-9]*\) .*/\1/p'); do
    grep -q -- "$b" <<<"$page_text" || bad "benchmark '$b' is not in tpmcrb(1)"
    check_help "tpmcrb bench $b" "$("$BIN" bench "$b" --help 2>&1)"
done
# libtpmcrb(3): what an embedder must know, and no function the header
# does not have.
lib_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$P/share/man/man3/libtpmcrb.3")
for must in 'device lock held' '-EBUSY' 'TPMCRB_0' 'size'; do
    grep -qF -- "$must" <<<"$lib_text" || bad "libtpmcrb(3) does not mention '$must'"
done
for fn in $(grep -o 'tpmcrb_[a-z0-9_]*(' <<<"$lib_text" | tr -d '(' | sort -u); do
    grep -q "\b$fn(" "$P/include/tpmcrb.h" || bad "libtpmcrb(3) names $fn, which tpmcrb.h does not declare"
done

# ------------------------------------------------------------ completion
complete_words() { # complete_words WORD... : what completes the last word
    PATH=$P/bin:$PATH bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _tpmcrb; printf "%s\n" "${COMPREPLY[@]}"' _ \
        "$P/share/bash-completion/completions/tpmcrb" "$@"
}
[ "$(complete_words tpmcrb pi)" = pipe ] || bad "completion of 'tpmcrb pi': $(complete_words tpmcrb pi)"
[ "$(complete_words tpmcrb serve-)" = serve-hub ] || bad "completion of 'tpmcrb serve-': $(complete_words tpmcrb serve-)"
got=$(complete_words tpmcrb pipe --lo | tr '\n' ' ')
for o in --locality --log-level --log-file; do
    grep -q -- "$o " <<<"$got" || bad "completion of 'tpmcrb pipe --lo' lacks $o: $got"
done
[ "$(complete_words tpmcrb --log-level debug vm --layout c)" = compat ] ||
    bad "completion of a --layout value"
[ "$(complete_words tpmcrb bench pi)" = pipe ] || bad "completion of a benchmark name"
[ "$(complete_words tpmcrb state con)" = convert ] || bad "completion of state's subcommand"

# ------------------------------------------------------------ systemd unit
unit=$P/lib/systemd/system/tpmcrb-serve@.service
grep -q "^ExecStart=${P#"$work/dest"}/bin/tpmcrb serve --shm /dev/shm/tpmcrb-%i " "$unit" ||
    bad "the unit does not run the installed tpmcrb serve for the instance: $(grep ExecStart "$unit")"
for opt in $(sed -n 's/^ExecStart=//p' "$unit" | grep -o -- '--[a-z-]*'); do
    "$BIN" serve --help | grep -- "$opt " >/dev/null || bad "the unit uses $opt, which serve does not have"
done
hub_unit=$P/lib/systemd/system/tpmcrb-serve-hub.service
grep -q "^ExecStart=${P#"$work/dest"}/bin/tpmcrb serve-hub --socket " "$hub_unit" ||
    bad "the hub unit does not run the installed tpmcrb serve-hub: $(grep ExecStart "$hub_unit" 2>&1)"
hub_socket=$(sed -n 's/^ExecStart=.* serve-hub --socket \([^ ]*\).*/\1/p' "$hub_unit")
grep -q -- "--hub $hub_socket " "$unit" || bad "the unit's --hub is not the hub unit's socket $hub_socket"
for opt in $(sed -n 's/^ExecStart=//p' "$hub_unit" | grep -o -- '--[a-z-]*'); do
    "$BIN" serve-hub --help | grep -- "$opt " >/dev/null || bad "the hub unit uses $opt, which serve-hub does not have"
done
if command -v systemd-analyze > /dev/null; then
    mkdir -p "$work/units"
    sed "s|^ExecStart=[^ ]*|ExecStart=$BIN|" "$unit" > "$work/units/tpmcrb-serve@vm1.service"
    sed "s|^ExecStart=[^ ]*|ExecStart=$BIN|" "$hub_unit" > "$work/units/tpmcrb-serve-hub.service"
    msg=$(timeout 60 systemd-analyze verify --man=no "$work/units/tpmcrb-serve@vm1.service" \
          "$work/units/tpmcrb-serve-hub.service" 2>&1) ||
        bad "systemd-analyze verify failed: $msg"
    [ -z "$msg" ] || bad "systemd-analyze verify: $msg"
else
    for key in '^\[Unit\]' '^\[Service\]' '^\[Install\]' '^Description=' \
               '^StateDirectory=tpmcrb/%i' '^WantedBy='; do
        grep -q "$key" "$unit" || bad "the unit has no $key"
    done
    echo "note: systemd-analyze is not installed; checked the unit's structure only"
fi

[ $fail = 0 ] && echo "install: ok ($P)"
exit $fail
