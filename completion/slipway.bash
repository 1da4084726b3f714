# bash completion for slipway. Install: copy to /usr/share/bash-completion/completions/slipway
# (or `source` it). Sub-commands and flags come from slipway's own --help, so they never drift
# from the binary; container, image and network names come from `ps`, `image ls` and `network ls`
# under the --root / --run-root typed on the line.

# The sub-commands and flags of `slipway [WORDS...]`, from its help.
_slipway_help_words() {
  "${_slipway_base[@]}" "$@" --help 2>/dev/null | awk '
    /^Subcommands:/ { mode = "sub"; next }
    /^Options:/ { mode = "opt"; next }
    /^[^ ]/ { mode = "" }
    mode == "sub" && /^  [a-z]/ { print $1 }
    mode == "opt" && /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }'
}

_slipway_containers() { "${_slipway_base[@]}" ps -a --format '{{.Names}}' 2>/dev/null; }
_slipway_images() {
  "${_slipway_base[@]}" image ls 2>/dev/null | awk 'NR > 1 && $1 != "<none>" { print $1 ":" $2 }'
}
_slipway_networks() {
  printf '%s\n' none host
  "${_slipway_base[@]}" network ls 2>/dev/null | awk 'NR > 1 { print $1 }'
}

_slipway() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  _slipway_base=("${COMP_WORDS[0]}")
  local path=() i=1 word
  # Global options with their values, then the sub-command path (words that are sub-commands).
  while ((i < COMP_CWORD)); do
    word=${COMP_WORDS[i]}
    case $word in
      --root | --run-root) _slipway_base+=("$word" "${COMP_WORDS[i+1]}"); ((i += 2)); continue ;;
      --root=* | --run-root=*) _slipway_base+=("$word") ;;
      -*) ;;
      *)
        if _slipway_help_words "${path[@]}" | grep -qx -- "$word"; then
          path+=("$word")
        else
          break  # an argument: the rest belongs to the command (run IMAGE CMD...)
        fi
        ;;
    esac
    ((i++))
  done

  case $prev in
    --root | --run-root | -f | --file | -v | --volume | --env-file | --creds-file | -o | --output)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --net | --network) COMPREPLY=($(compgen -W "$(_slipway_networks)" -- "$cur")); return ;;
    --pull) COMPREPLY=($(compgen -W "missing always never" -- "$cur")); return ;;
  esac

  local candidates
  candidates=$(_slipway_help_words "${path[@]}")
  if [[ $cur != -* ]]; then
    case "${path[*]}" in
      "stop" | "kill" | "rm" | "exec" | "inspect" | "logs" | "wait") candidates+=$'\n'$(_slipway_containers) ;;
      "run" | "push" | "tag" | "image rm" | "image inspect" | "image save" | "image tag")
        candidates+=$'\n'$(_slipway_images)
        ;;
      "network rm") candidates+=$'\n'$(_slipway_networks | tail -n +3) ;;
      "build" | "image load" | "image import") COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}

complete -F _slipway slipway
