#!/usr/bin/env bash
# Usage: ./bench.sh [--quick] [benchmark ...]
# Sets up like run_script.sh (.venv, or SAC_PYTHON), then runs the benchmarks of bench/ one
# after the other in one process (bench/__main__.py; all by default: under 20 minutes on 2
# cores; --quick: the point-mass rows, under 6). Each prints its table and writes it as
# markdown and PNG into docs/benchmarks/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$repo/scripts/setup_env.sh"
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
cd "$repo"
export PYTHONPATH="$repo" TF_CPP_MIN_LOG_LEVEL=2
exec "$sac_python" -m bench "$@"
