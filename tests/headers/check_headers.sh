#!/bin/sh
# Every public header compiles on its own as C89 and C99 (-pedantic
# -Werror) and, when a C++ compiler is known, as C++98 and C++17; each
# options _INIT macro expands without a warning under -Wextra.
#   check_headers.sh SRCDIR   (CC, and optionally CXX, from the environment)
set -u
top=$1
: "${CC:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coco-headers.XXXXXX")
trap 'rm -rf "$T"' EXIT
failed=0
passed=0

cat > "$T/init.inc" <<'C'
int main(void)
{
	cocoimg_copy_options c = COCOIMG_COPY_OPTIONS_INIT;
	cocoimg_unpack_options u = COCOIMG_UNPACK_OPTIONS_INIT;
	cocoimg_sign_options s = COCOIMG_SIGN_OPTIONS_INIT;
	cocoimg_verify_input v = COCOIMG_VERIFY_INPUT_INIT;
	cocoimg_verify_blob_options b = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;
	return (int)(c.version + u.version + s.version + v.version + b.version) - 5;
}
C

# compile NAME COMPILER FLAGS...   (compiles $T/tu.c)
compile() {
    name=$1; shift
    if "$@" -fsyntax-only -I"$top/include" "$T/tu.c" 2>"$T/err"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name" >&2
        cat "$T/err" >&2
    fi
}

WARN="-pedantic -Werror -Wall -Wextra -Wmissing-field-initializers"
headers="cocoimg.h"
for h in "$top"/include/cocoimg/*.h; do headers="$headers cocoimg/$(basename "$h")"; done

for h in $headers; do
    printf '#include <%s>\n' "$h" > "$T/tu.h"
    # the header alone, then the header with the _INIT macros in use
    for use in alone init; do
        { cat "$T/tu.h"
          if [ $use = init ]; then cat "$T/init.inc"
          else printf 'int main(void) { return 0; }\n'; fi; } > "$T/tu.c"
        for std in c89 c99 c11; do
            # shellcheck disable=SC2086
            compile "$h ($use) as $std" $CC -x c -std=$std $WARN -Wstrict-prototypes
        done
        if [ -n "${CXX:-}" ]; then
            for std in c++98 c++11 c++17; do
                # shellcheck disable=SC2086
                compile "$h ($use) as $std" $CXX -x c++ -std=$std $WARN
            done
        fi
    done
done
[ -n "${CXX:-}" ] || echo "no C++ compiler: C++ checks skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
