#!/usr/bin/env bash
# Usage: ./scripts/sweep_local.sh --sweep SWEEP_JSON [--tasks LIST] [--dry-run] <training variables .sh file>
# Runs the tasks of a sweep on this machine without SLURM, through run_script.sh: one after
# another, or several at once, each on CPUs of its own, when there are CPUs for more than one
# (see README.md, "Hyperparameter sweeps"). The logic lives in tfagents_system/launcher/sweep_local.py.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/read_variables.sh
source "$repo/scripts/read_variables.sh"
read_variables_file_among "$0 --sweep SWEEP_JSON [--tasks LIST] [--dry-run] <training variables .sh file>" "$@"
"$repo/scripts/setup_env.sh"
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$sac_python" -m tfagents_system.launcher.sweep_local "$@"
