#!/usr/bin/env bash
# Usage: ./slurm/submit.sh [--sweep SWEEP_JSON [--tasks LIST]] [--dry-run] <training variables .sh file> [sbatch options]
# Submits slurm/train.sbatch asking for the CPUs the variables file needs, SAC_REVERB_CPUS +
# SAC_TRAIN_CPUS + SAC_NUM_COLLECT_WORKERS × SAC_COLLECT_WORKER_CPUS + 2 (per node with
# --nodes, see README.md), after printing the sbatch command line; with --sweep, an array job
# with a task per combination and seed of the sweep file, each asking for as many. --dry-run
# prints and submits nothing. The logic lives in tfagents_system/launcher/slurm_job.py and sweep.py.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/read_variables.sh
source "$repo/scripts/read_variables.sh"
read_variables_file_among "$0 [--sweep SWEEP_JSON [--tasks LIST]] [--dry-run] <training variables .sh file> [sbatch options]" "$@"  # checked as the job will check them
# Only the standard library is needed for a job: a login node without .venv can submit one. A
# sweep is checked against TrainParams, which needs the run's interpreter.
python=$repo/.venv/bin/python
[ -x "$python" ] || python=python3
if [ -n "${SAC_PYTHON:-}" ]; then
  # shellcheck source=scripts/python.sh
  source "$repo/scripts/python.sh"
  python=$sac_python
fi
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m tfagents_system.launcher.slurm_job "$@"
