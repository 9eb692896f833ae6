#!/usr/bin/env bash
# Usage: ./slurm/submit.sh <training variables .sh file> [sbatch options]
# Submits slurm/train.sbatch asking for the CPUs the variables file needs, SAC_REVERB_CPUS +
# SAC_TRAIN_CPUS + SAC_NUM_COLLECT_WORKERS × SAC_COLLECT_WORKER_CPUS + 2 (per node with
# --nodes, see README.md), after printing the sbatch command line. The logic lives in
# tfagents_system/slurm_job.py.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 <training variables .sh file> [sbatch options]" >&2
  exit 2
fi
# shellcheck source=scripts/read_variables.sh
source "$repo/scripts/read_variables.sh"
read_variables_file "$1"  # the variables are checked as the job will check them
# Only the standard library is needed here: a login node without .venv can submit too.
python=$repo/.venv/bin/python
[ -x "$python" ] || python=python3
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m tfagents_system.slurm_job "$@"
