#!/usr/bin/env bash
# Usage: ./run_script.sh [--fresh] <training variables .sh file>
# Sets up .venv on first use (or checks SAC_PYTHON, see README.md), reads the variables, and
# starts the run in logs/$SAC_EXP_NAME (in an array job logs/$SAC_EXP_NAME_$SLURM_ARRAY_TASK_ID; a
# sweep task, SAC_SWEEP set, in logs/$SAC_EXP_NAME/<task>), the dir the launcher chooses
# (tfagents_system/launcher/run_settings.py) and builds (tfagents_system/common/experiment_dir.py).
# A run already in that dir is resumed; --fresh starts over and keeps the old dir renamed.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${1:-}" = --fresh ]; then
  export SAC_FRESH=1
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--fresh] <training variables .sh file>" >&2
  exit 2
fi
# shellcheck source=scripts/read_variables.sh
source "$repo/scripts/read_variables.sh"
read_variables_file "$1"  # every variable the file sets reaches the programs
"$repo/scripts/setup_env.sh"
exec "$repo/train_script.sh"
