# The cap tests (int/unpack/cap_keys with ctxrun, int/unpack/cap_flags with
# coco-img), sourced after common.sh.
#
# refused NAME WANT-RC OUT-NAME PATTERN ARGS...: $CAP_RUN ARGS (within 120 s)
#   must exit WANT-RC with a message matching PATTERN (grep -E), which
#   names the cap and its key; the output is kept in $T/OUT-NAME.
refused() {
    _n=$1 _rc=$2 _o=$3 _pat=$4; shift 4
    timeout 120 "$CAP_RUN" "$@" >"$T/$_o" 2>&1
    _got=$?
    check "$_n: exit $_rc" test "$_got" -eq "$_rc"
    check "$_n: names the cap and the key" grep -Eq "$_pat" "$T/$_o"
}
