# bash completion for coco-img.  Commands and options come from the
# installed tool's own help, so they never fall behind it.

_coco_img_commands() {
    coco-img --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' | tr '\n' ' '
}

_coco_img_options() { # COMMAND
    coco-img help "$1" 2>/dev/null | awk '$1 ~ /^--/ { sub(/\[=BOOL\]$/, "", $1); print $1 }'
}

_coco_img() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i w
    local commands
    commands=$(_coco_img_commands)
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case " $commands help " in *" $w "*) cmd=$w; break ;; esac
    done
    if [ "$cmd" = help ]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    elif [[ $cur == -* ]]; then
        local opts="--help --debug --tmpdir --threads"
        [ -n "$cmd" ] && opts=$(_coco_img_options "$cmd")
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$commands help" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
        case $cur in
        d*) COMPREPLY+=($(compgen -W "docker://" -- "$cur")) ;;
        o*) COMPREPLY+=($(compgen -W "oci: oci-archive:" -- "$cur")) ;;
        esac
    fi
}
complete -o default -F _coco_img coco-img
