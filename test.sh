#!/usr/bin/env bash
# Sets up like run_script.sh (.venv, or SAC_PYTHON) and daemontools, then runs every test.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$repo/scripts/setup_env.sh"
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
cd "$repo"
# Every test has a bound too: a hang fails that test with every thread's stack, and the rest run.
# The slowest tests are listed at the end: the whole suite must stay under 30 minutes on 2 CPUs.
exec "$sac_python" -m pytest -p no:cacheprovider -W ignore::DeprecationWarning \
  --timeout=900 --timeout-method=signal --durations=15 tests "$@"
