#!/usr/bin/env bash
# Sets up .venv and daemontools like run_script.sh, then runs every test.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$repo/scripts/setup_env.sh"
cd "$repo"
exec "$repo/.venv/bin/python" -m pytest -p no:cacheprovider -W ignore::DeprecationWarning tests "$@"
