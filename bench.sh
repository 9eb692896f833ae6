#!/usr/bin/env bash
# Usage: ./bench.sh [--quick] [benchmark ...]
# Sets up like run_script.sh (.venv, or SAC_PYTHON), then runs the benchmarks of bench/ one
# after the other (all by default: under 20 minutes on 2 cores; --quick: a few minutes). Each
# prints its table and writes it as markdown and PNG into docs/benchmarks/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$repo/scripts/setup_env.sh"
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
options=()
if [ "${1:-}" = --quick ]; then
  options+=(--quick)
  shift
fi
benchmarks=("$@")
[ ${#benchmarks[@]} -gt 0 ] || benchmarks=(efficiency sync_overhead time_to_target performance_model startup memory
                                                   minitaur_budget)
cd "$repo"
export PYTHONPATH="$repo" TF_CPP_MIN_LOG_LEVEL=2
"$sac_python" -c 'from bench import common; print(common.machine_description())'
for benchmark in "${benchmarks[@]}"; do
  echo "== $benchmark ($(date -u +%H:%M:%S))"
  "$sac_python" -m "bench.$benchmark" "${options[@]}"
done
