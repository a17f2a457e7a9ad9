#!/bin/bash
# After meson install: coco-img(1) renders (man -l, groff -ww) and lists
# every command and option --help shows, with exit status, environment
# and files; the bash and zsh completion scripts load and complete
# commands and options from the installed tool; the man page names no
# option --help lacks; README's command section names the commands --help
# lists, every option it shows and no option it lacks.
. "$TOP_SRCDIR/tests/lib/common.sh"
: "${TOP_BUILDDIR:?}"
D="$T/dest"
check "meson install --destdir" meson install -C "$TOP_BUILDDIR" --destdir "$D" --no-rebuild --quiet
MAN=$(find "$D" -path '*/man1/coco-img.1' | head -1)
BASHC=$(find "$D" -path '*/bash-completion/completions/coco-img' | head -1)
ZSHC=$(find "$D" -path '*/zsh/site-functions/_coco-img' | head -1)
BIN=$(find "$D" -path '*/bin/coco-img' | head -1)
LIBDIR=$(dirname "$(find "$D" -name 'libcocoimg.so.1' | head -1)")
check "man page installed" test -n "$MAN"
check "bash completion installed" test -n "$BASHC"
check "zsh completion installed" test -n "$ZSHC"
export LD_LIBRARY_PATH="$LIBDIR" PATH="$(dirname "$BIN"):$PATH"
C=coco-img

# ---- the man page ----
MANWIDTH=200 man -l "$MAN" > "$T/man.txt" 2> "$T/man.err"
check "man -l renders" test -s "$T/man.txt"
check "man -l: no warnings" test ! -s "$T/man.err"
check "groff -ww: no warnings" sh -c "groff -man -Tutf8 -ww -z '$MAN' 2>&1 | (! grep .)"
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS "EXIT STATUS" ENVIRONMENT FILES; do
    check "man: section $s" grep -q "^$s" "$T/man.txt"
done
commands=$($C --help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')
check "--help lists commands" test -n "$commands"
for c in $commands; do
    check "man: command $c" grep -q "^   $c\$" "$T/man.txt"
    for o in $($C help "$c" | awk '$1 ~ /^--/ { sub(/\[=BOOL\]$/, "", $1); print $1 }'); do
        grep -q -e "^ *$o\( \|\[=BOOL\]\|\$\)" "$T/man.txt" || { echo "not ok - man: $c $o missing"; _FAILED=$((_FAILED + 1)); }
    done
    check "help $c ends with examples" sh -c "$C help $c | sed -n '/^Examples:/,\$p' | grep -q '^  coco-img $c'"
    # an example uses only options the command lists
    $C help "$c" | sed '/^Examples:/,$d' > "$T/help-$c"
    for o in $($C help "$c" | sed -n '/^Examples:/,$p' | grep -o -- ' --[a-z][a-z0-9-]*' | sort -u); do
        grep -q -e "^ *$o\( \|\[=BOOL\]\|\$\)" "$T/help-$c" || { echo "not ok - help $c: example uses $o"; _FAILED=$((_FAILED + 1)); }
    done
done
check "coco-img --help ends with examples" sh -c "$C --help | sed -n '/^Examples:/,\$p' | grep -q '^  coco-img help '"
check "coco-img help --help is the overview" sh -c "$C help --help | grep -q '^Commands:'"
for c in $commands; do $C help "$c"; done | grep -o -- '--[a-z][a-z0-9.-]*[a-z0-9]' | sort -u > "$T/helpopts"
# the other direction, from the page's source (the rendered text hyphenates)
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN" | grep -o -- '--[a-z][a-z0-9.-]*[a-z0-9]' | sort -u > "$T/manopts"
check "man: names options" test -s "$T/manopts"
check "every option the man page names is one --help shows" sh -c "comm -13 '$T/helpopts' '$T/manopts' | (! grep .)"
for code in 0 1 2 3 4 130; do
    check "man: exit status $code" grep -q "^       $code\b" "$T/man.txt"
done
for v in REGISTRY_AUTH_FILE XDG_RUNTIME_DIR TMPDIR COCO_IMG_DEBUG OCICRYPT_KEYPROVIDER_CONFIG; do
    check "man: environment $v" grep -q "$v" "$T/man.txt"
done

# ---- bash completion ----
bash_complete() { # WORDS... : the candidates for the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _coco_img; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$BASHC" "$@"
}
check "bash: registered" bash -c "source '$BASHC'; complete -p coco-img | grep -q _coco_img"
bash_complete coco-img ver > "$T/b1"
check "bash: 'ver' completes to verify verify-blob version" test "$(sort "$T/b1" | tr '\n' ' ')" = "verify verify-blob version "
bash_complete coco-img --debug copy --src-tl > "$T/b2"
check "bash: copy options after global ones" test "$(cat "$T/b2")" = "--src-tls-verify"
bash_complete coco-img inspect --ra > "$T/b3"
check "bash: inspect --raw" test "$(cat "$T/b3")" = "--raw"
bash_complete coco-img help unp > "$T/b4"
check "bash: help COMMAND" test "$(cat "$T/b4")" = "unpack"
bash_complete coco-img copy oci-a > "$T/b5"
check "bash: transports" grep -qx "oci-archive:" "$T/b5"

# ---- zsh completion (compsys functions replaced by stand-ins that print their input) ----
if command -v zsh >/dev/null; then
    zsh_complete() { # CURRENT WORDS...
        zsh -c '
            compadd() { while [[ $1 == -* ]]; do [[ $1 == -- ]] && { shift; break }; [[ $1 == -S ]] && shift; shift; done; print -rl -- "$@" }
            _describe() { local a=${@[-1]}; print -rl -- ${(P)a%%:*} }
            _files() { print -r -- "<files>" }
            words=(coco-img); CURRENT=2; PREFIX=""
            source "$1" >/dev/null; shift
            CURRENT=$1; shift; words=("$@"); PREFIX=${words[CURRENT]}
            _coco-img' _ "$ZSHC" "$@"
    }
    check "zsh: loads" zsh -c "autoload -U compinit 2>/dev/null; source '$ZSHC' >/dev/null 2>&1; whence -w _coco-img | grep -q function"
    zsh_complete 2 coco-img ver > "$T/z1"
    check "zsh: commands" grep -qx verify-blob "$T/z1"
    zsh_complete 4 coco-img --debug copy --src-tl > "$T/z2"
    check "zsh: copy options after global ones" grep -qx -- "--src-tls-verify" "$T/z2"
    zsh_complete 3 coco-img help unp > "$T/z3"
    check "zsh: help COMMAND" grep -qx unpack "$T/z3"
else
    check "zsh present (scripts/install-deps.sh installs it)" false
fi

# ---- README's command section agrees with --help ----
sed -n '/^## Command line/,/^## Library/p' "$TOP_SRCDIR/README.md" > "$T/readme"
readme_cmds=$(grep -o '^| `coco-img [a-z-]*' "$T/readme" | awk '{print $3}' | sort -u)
check "README lists the commands --help lists" test "$readme_cmds" = "$(echo "$commands" | sort -u)"
# "--x[-regexp]" names --x and --x-regexp; options of other tools README
# quotes, and the --src-/--dest- prefixes, are left out
sed 's/\(--[a-z0-9-]*\)\[\(-[a-z]*\)\]/\1 \1\2/g' "$T/readme" | grep -o -- '--[a-z][a-z0-9.-]*[a-z0-9-]' |
    grep -v -e '-$' -e '^--tlog-upload$' | sort -u > "$T/readmeopts"
check "every option README names exists" sh -c "comm -13 '$T/helpopts' '$T/readmeopts' | (! grep .)"
# and the reverse: README names every option, the --src-/--dest- forms
# through the sentence that says copy, encrypt and decrypt take them
check "README: the --src-/--dest- forms" grep -q '`--src-`/`--dest-` forms' "$T/readme"
sed 's/^--\(src\|dest\)-/--/' "$T/helpopts" | sort -u > "$T/helpbase"
check "README names every option --help shows" sh -c "comm -23 '$T/helpbase' '$T/readmeopts' | (! grep .)"
finish
