#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `tpmcrb acpi` end to end: write the tables for every start method, layout
# and locality count (x86 and a non-x86 base), disassemble them with
# `iasl -d` and check every field of the output. Then make sure the checker
# itself notices a wrong field, and that the CLI's exit codes hold.
set -u

if ! command -v iasl >/dev/null 2>&1; then
    echo "SKIP: iasl not found (install acpica-tools)"
    exit 77
fi
: "${TPMCRB:?TPMCRB must name the tpmcrb binary}"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
QUIET=0

problem() {
    [ "$QUIET" = 1 ] || echo "  FAIL: $*" >&2
    return 1
}

# The fields of iasl's data-table listing, read once per table (no forks:
# this test runs on busy machines), e.g.
#   [028h 0040   8]              Control Address : 00000000FED40040
# FIELD[name] is the value's quoted string or first word, RAW[name] all of it.
declare -A FIELD RAW
read_fields() {
    local line name value re='^\[[^]]*\] *([^:]*[^ :]) *: (.*)$'
    FIELD=() RAW=()
    while IFS= read -r line; do
        [[ $line =~ $re ]] || continue
        name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
        [[ -v RAW[$name] ]] && continue
        RAW[$name]=$value
        if [[ $value =~ ^(\"[^\"]*\") ]]; then
            FIELD[$name]=${BASH_REMATCH[1]}
        else
            FIELD[$name]=${value%% *}
        fi
    done <"$1"
}

expect_field() {
    local name=$1 want=$2 got=${FIELD[$1]-<missing>}
    [ "$got" = "$want" ] || problem "TPM2 $name is '$got', want '$want'"
}

byte_sum() {
    od -An -tu1 -v "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s % 256 }'
}

# The SSDT body as iasl prints it, without comments, blank lines or
# indentation: one ASL token group per line.
ssdt_body() {
    sed -n '/^DefinitionBlock/,$p' "$1" |
        sed -e 's@[[:space:]]*/\*[^*]*\*/@@g' -e 's@//.*$@@' -e 's/^[[:space:]]*//' \
            -e 's/[[:space:]]*$//' | grep -v '^$'
}

# What that body must be for the given device.
expected_body() {
    local base=$1 layout=$2 loc=$3 sm=$4 oem_id=$5 oem_tid=$6 oem_rev=$7
    local regs=$((loc * 0x1000))
    printf 'DefinitionBlock ("", "SSDT", 2, "%s", "%s", 0x%08X)\n' \
        "$oem_id" "$oem_tid" "$oem_rev"
    cat <<EOF
{
Scope (\_SB)
{
Device (TPM)
{
Name (_HID, "MSFT0101")
Name (_CID, "MSFT0101")
Name (_STR, Unicode ("TPM 2.0 Device"))
Name (_UID, One)
Name (_STA, 0x0F)
Name (_CRS, ResourceTemplate ()
{
Memory32Fixed (ReadWrite,
EOF
    printf '0x%08X,\n0x%08X,\n)\n' "$base" "$regs"
    if [ "$layout" = split ]; then
        printf 'Memory32Fixed (ReadWrite,\n0x%08X,\n0x%08X,\n)\n' \
            $((base + regs)) 0x1000
    fi
    echo '})'
    if [ "$sm" = 8 ]; then
        cat <<'EOF'
Method (_DSM, 4, NotSerialized)
{
If ((Arg0 == ToUUID ("6bbf6cab-5463-4714-b7cd-f0203c0368d4")))
{
If ((Arg2 == Zero))
{
Return (Buffer (One)
{
0x03
})
}
If ((Arg2 == One))
{
Return (Zero)
}
}
Return (Buffer (One)
{
0x00
})
}
EOF
    fi
    printf '}\n}\n}\n'
}

# check_tables DIR BASE LAYOUT LOCALITIES START_METHOD LAML LASA OEM_ID
#              OEM_TABLE_ID OEM_REV
check_tables() {
    local dir=$1 base=$2 layout=$3 loc=$4 sm=$5 laml=$6 lasa=$7
    local oem_id oem_tid oem_rev=${10} t=$1/tpm2 s=$1/ssdt rc=0 len want
    printf -v oem_id '%-6s' "$8"   # the header pads IDs with spaces
    printf -v oem_tid '%-8s' "$9"

    if ! iasl -d "$t.aml" "$s.aml" >"$dir/iasl.log" 2>&1; then
        problem "iasl -d failed: $(tail -n 3 "$dir/iasl.log")"
        return 1
    fi
    if grep -qi 'incorrect checksum' "$dir/iasl.log" "$t.dsl" "$s.dsl"; then
        problem "iasl reports a bad checksum"; rc=1
    fi
    [ "$(byte_sum "$t.aml")" = 0 ] || { problem "tpm2.aml does not sum to 0"; rc=1; }
    [ "$(byte_sum "$s.aml")" = 0 ] || { problem "ssdt.aml does not sum to 0"; rc=1; }

    # TPM2 table: 64 bytes, or 76 with the log area fields.
    len=76
    [ "$laml" != 0 ] || len=64
    read_fields "$t.dsl"
    [ "$(stat -c %s "$t.aml")" = "$len" ] || { problem "tpm2.aml is not $len bytes"; rc=1; }
    expect_field Signature '"TPM2"' || rc=1
    printf -v want '%08X' "$len"; expect_field 'Table Length' "$want" || rc=1
    expect_field Revision 04 || rc=1
    expect_field 'Oem ID' "\"$oem_id\"" || rc=1
    expect_field 'Oem Table ID' "\"$oem_tid\"" || rc=1
    printf -v want '%08X' "$oem_rev"; expect_field 'Oem Revision' "$want" || rc=1
    expect_field 'Asl Compiler ID' '"TCRB"' || rc=1
    expect_field 'Asl Compiler Revision' 00000001 || rc=1
    expect_field 'Platform Class' 0000 || rc=1
    printf -v want '%016X' $((base + 0x40)); expect_field 'Control Address' "$want" || rc=1
    printf -v want '%02X' "$sm"; expect_field 'Start Method' "$want" || rc=1
    [ "${RAW[Method Parameters]-}" = "00 00 00 00 00 00 00 00 00 00 00 00" ] ||
        { problem "start method parameters are not 12 zero bytes"; rc=1; }
    if [ "$laml" = 0 ]; then
        # iasl 2020 expects the log fields in a revision 4 table and says
        # so; the TCG layout makes them optional.
        [ -z "${RAW[Minimum Log Length]-}" ] ||
            { problem "log fields without a log area"; rc=1; }
    else
        printf -v want '%08X' "$laml"; expect_field 'Minimum Log Length' "$want" || rc=1
        printf -v want '%016X' "$lasa"; expect_field 'Log Address' "$want" || rc=1
        ! grep -q 'terminates early' "$t.dsl" ||
            { problem "iasl finds the TPM2 table short"; rc=1; }
    fi

    # SSDT: header, then the whole device as iasl reads it.
    grep -q '^ \*     Signature        "SSDT"$' "$s.dsl" || { problem "SSDT signature"; rc=1; }
    grep -q '^ \*     Revision         0x02$' "$s.dsl" || { problem "SSDT revision"; rc=1; }
    grep -q '^ \*     Compiler ID      "TCRB"$' "$s.dsl" || { problem "SSDT creator"; rc=1; }
    expected_body "$base" "$layout" "$loc" "$sm" "$oem_id" "$oem_tid" "$oem_rev" \
        >"$dir/expected.asl"
    ssdt_body "$s.dsl" >"$dir/got.asl"
    if ! diff -u "$dir/expected.asl" "$dir/got.asl" >"$dir/body.diff"; then
        problem "SSDT body differs:"; [ "$QUIET" = 1 ] || cat "$dir/body.diff" >&2
        rc=1
    fi
    # Spelled out, for clear messages: the promises that matter to Linux.
    if [ "$sm" = 7 ] && grep -q '_DSM' "$s.dsl"; then
        problem "_DSM present with start method 7"; rc=1
    fi
    if [ "$sm" = 8 ] && ! grep -q 'ToUUID ("6bbf6cab-5463-4714-b7cd-f0203c0368d4")' "$s.dsl"; then
        problem "no start _DSM with start method 8"; rc=1
    fi

    # iasl compiles its own disassembly cleanly (no errors, no warnings).
    if ! (cd "$dir" && cp ssdt.dsl rt.dsl && iasl rt.dsl >rt.log 2>&1) ||
       ! grep -q ' 0 Errors, 0 Warnings' "$dir/rt.log"; then
        problem "iasl does not recompile the SSDT cleanly: $(grep -E 'Error|Warning' "$dir/rt.log" | head -n 3)"
        rc=1
    fi
    return $rc
}

n=0
# run_case BASE LAYOUT LOCALITIES START_METHOD [LAML LASA [OEM_ID OEM_TABLE_ID OEM_REV]]
run_case() {
    local base=$1 layout=$2 loc=$3 sm=$4 laml=${5:-0} lasa=${6:-0}
    local oid=${7:-TPMCRB} otid=${8:-TPMCRB} orev=${9:-1} dir args
    n=$((n + 1))
    dir=$WORK/case$n
    last_dir=$dir
    args=(acpi --base "$base" --layout "$layout" --localities "$loc"
          --start-method "$sm" -o "$dir")
    [ "$laml" = 0 ] || args+=(--log-size "$laml" --log-addr "$lasa")
    [ $# -lt 7 ] || args+=(--oem-id "$oid" --oem-table-id "$otid" --oem-revision "$orev")
    if ! "$TPMCRB" "${args[@]}" >"$WORK/out$n.log" 2>&1; then
        echo "FAIL: tpmcrb ${args[*]}: $(cat "$WORK/out$n.log")" >&2
        failures=$((failures + 1))
        return
    fi
    if check_tables "$dir" "$base" "$layout" "$loc" "$sm" "$laml" "$lasa" \
            "$oid" "$otid" "$orev"; then
        echo "ok: base $base $layout $loc localities, start method $sm, log $laml"
    else
        echo "FAIL: base $base $layout $loc localities, start method $sm, log $laml" >&2
        failures=$((failures + 1))
    fi
}

for sm in 7 8; do
    for layout in split compat; do
        for loc in 1 5; do
            run_case 0xFED40000 "$layout" "$loc" "$sm"
        done
    done
done
for sm in 7 8; do
    run_case 0x0C000000 split 5 "$sm"
    run_case 0x0C000000 compat 1 "$sm"
done
run_case 0xFED40000 split 5 8 0x10000 0x1F000000
run_case 0x0C000000 compat 1 7 65536 0x123456789000 ABC XYZW1234 0xA0B0C0D0
log_case=$last_dir
run_case 0xFFFFA000 split 5 8      # the window ends exactly at 4 GiB

# --------------------------------------------------------------------------
# The checker must notice a wrong field: check each table against a
# description it does not match, and a table with a corrupted checksum.
ref=$WORK/case1 # 0xFED40000 split, 1 locality, start method 7
expect_mismatch() {
    local what=$1; shift
    QUIET=1
    if check_tables "$@"; then
        echo "FAIL: the checker accepted a wrong $what" >&2
        failures=$((failures + 1))
    else
        echo "ok: the checker rejects a wrong $what"
    fi
    QUIET=0
}
expect_mismatch "base" "$ref" 0xFED50000 split 1 7 0 0 TPMCRB TPMCRB 1
expect_mismatch "layout" "$ref" 0xFED40000 compat 1 7 0 0 TPMCRB TPMCRB 1
expect_mismatch "locality count" "$ref" 0xFED40000 split 5 7 0 0 TPMCRB TPMCRB 1
expect_mismatch "start method" "$ref" 0xFED40000 split 1 8 0 0 TPMCRB TPMCRB 1
expect_mismatch "log area" "$ref" 0xFED40000 split 1 7 0x1000 0x2000 TPMCRB TPMCRB 1
expect_mismatch "OEM ID" "$ref" 0xFED40000 split 1 7 0 0 TPMCRX TPMCRB 1
expect_mismatch "OEM revision" "$ref" 0xFED40000 split 1 7 0 0 TPMCRB TPMCRB 2
cp -r "$log_case" "$WORK/badlog"
printf '\x01' | dd of="$WORK/badlog/tpm2.aml" bs=1 seek=64 conv=notrunc 2>/dev/null
# Keep the table checksum right so that only the field itself is wrong.
printf '\xff' | dd of="$WORK/badlog/tpm2.aml" bs=1 seek=52 conv=notrunc 2>/dev/null
expect_mismatch "LAML (and start parameters)" "$WORK/badlog" 0x0C000000 compat 1 7 65536 0x123456789000 ABC XYZW1234 0xA0B0C0D0
for f in tpm2 ssdt; do
    cp -r "$ref" "$WORK/bad$f"
    printf '\x00' | dd of="$WORK/bad$f/$f.aml" bs=1 seek=9 conv=notrunc 2>/dev/null
    expect_mismatch "$f checksum" "$WORK/bad$f" 0xFED40000 split 1 7 0 0 TPMCRB TPMCRB 1
done

# --------------------------------------------------------------------------
# Command line: exit codes 0 / 1 / 2.
expect_exit() {
    local want=$1; shift
    "$TPMCRB" acpi "$@" >"$WORK/cli.log" 2>&1
    local got=$?
    if [ "$got" = "$want" ]; then
        echo "ok: exit $want for acpi $*"
    else
        echo "FAIL: exit $got (want $want) for acpi $*: $(cat "$WORK/cli.log")" >&2
        failures=$((failures + 1))
    fi
    if [ "$want" = 2 ] && ! grep -q . "$WORK/cli.log"; then
        echo "FAIL: no message for acpi $*" >&2
        failures=$((failures + 1))
    fi
}
out=$WORK/cli
expect_exit 0 --help
expect_exit 0 --base 0xFED40000 -o "$out"
expect_exit 0 --base 4275306496 --output "$out"   # decimal 0xFED40000
expect_exit 2
expect_exit 2 -o "$out"                           # no --base
expect_exit 2 --base 0xFED40000                   # no -o
expect_exit 2 --base 0xFED40000 --layout wide -o "$out"
expect_exit 2 --base 0xFED40000 --localities 3 -o "$out"
expect_exit 2 --base 0xFED40000 --start-method 9 -o "$out"
expect_exit 2 --base 0xFED40001 -o "$out"         # not page aligned
expect_exit 2 --base 0xFED40800 -o "$out"
expect_exit 2 --base 0xFFFFF000 -o "$out"         # crosses 4 GiB
expect_exit 2 --base 0x100000000 -o "$out"
expect_exit 2 --base 0xZZ -o "$out"
expect_exit 2 --base -1 -o "$out"
expect_exit 2 --base 0xFED40000 --log-size 0x1000 -o "$out"
expect_exit 2 --base 0xFED40000 --log-addr 0x1000 -o "$out"
expect_exit 2 --base 0xFED40000 --oem-id SEVENCH -o "$out"
expect_exit 2 --base 0xFED40000 --oem-table-id NINECHARS -o "$out"
expect_exit 2 --base 0xFED40000 --bogus -o "$out"
expect_exit 2 --base 0xFED40000 -o "$out" extra
touch "$WORK/file"
expect_exit 1 --base 0xFED40000 -o "$WORK/file/sub" # cannot create DIR

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "all ACPI checks passed"
