# Sourced by run_script.sh and slurm/submit.sh: reads a training variables file
# and exports every variable it sets, plus SAC_VARIABLES_FILE (its absolute path).
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
