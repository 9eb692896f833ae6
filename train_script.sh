#!/usr/bin/env bash
# Starts the N+2 programs of a run, each pinned to its own CPUs out of those this
# process may use (inside a SLURM job: the job's CPUs), as daemontools services.
# Expects the variables of a training_variables file in the environment; run_script.sh
# exports them. The logic lives in tfagents_system/launcher/launch.py, which
# starts every program with the interpreter that runs it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$sac_python" -m tfagents_system.launcher.launch
