# Sourced by scripts/run.sh and scripts/test.sh: exports the settings of $STACK/env (the ports and
# URLs scripts/stack.sh start wrote), each unless the environment already sets it.
load_stack_env() { # load_stack_env STACK_DIR
  [ -f "$1/env" ] || return 0
  local key value
  while IFS='=' read -r key value; do
    if [[ $key == CHITIEU_* ]] && [ -z "${!key+set}" ]; then export "$key=$value"; fi
  done <"$1/env"
}
