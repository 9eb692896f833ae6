# Sourced by run_script.sh, slurm/submit.sh and scripts/sweep_local.sh: reads a training
# variables file and exports every variable it sets, plus SAC_VARIABLES_FILE (its absolute path).
read_variables_file() {
  local file=$1
  if [ ! -f "$file" ]; then
    echo "error: variables file not found: $file" >&2
    exit 2
  fi
  set -a
  # shellcheck disable=SC1090
  source "$file"
  set +a
  SAC_VARIABLES_FILE=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
  export SAC_VARIABLES_FILE
}

# Reads the variables file among a script's arguments: the first after the options that come
# before it (--sweep FILE, --tasks LIST, --dry-run; tfagents_system/launcher/sweep.py parses them). Without
# one, prints the usage line given first and exits.
read_variables_file_among() {
  local usage=$1
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --sweep|--tasks) shift; [ $# -gt 0 ] && shift ;;
      -*) shift ;;
      *) read_variables_file "$1"; return ;;
    esac
  done
  echo "usage: $usage" >&2
  exit 2
}
