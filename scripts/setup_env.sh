#!/usr/bin/env bash
# Idempotent set-up shared by run_script.sh, test.sh and bench.sh: daemontools, and the
# interpreter scripts/python.sh chose: the pinned .venv, or SAC_PYTHON checked against the pins.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock="$repo/requirements.lock"
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"

if ! command -v svscan >/dev/null || ! command -v multilog >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing daemontools with apt-get..."
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq daemontools >/dev/null
  else
    echo "error: daemontools is missing: run 'sudo apt-get install daemontools' (or install it locally, see README.md)" >&2
    exit 2
  fi
fi

if [ -n "${SAC_PYTHON:-}" ]; then
  # The user's environment is theirs: nothing is installed into it, and since it can change
  # between runs it is checked every time.
  if ! problem=$("$sac_python" "$repo/scripts/check_pins.py" "$lock"); then
    echo "error: SAC_PYTHON=$SAC_PYTHON $problem (conda env create -f environment.yml makes one that does)" >&2
    exit 2
  fi
  exit 0
fi

stamp="$sac_venv/.requirements.sha256"
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -x "$sac_python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$candidate; break
  fi
done
if [ -z "$python" ]; then
  echo "error: Python 3.11 is required (python3.11 or python3 on PATH, or SAC_PYTHON, see README.md)" >&2
  exit 2
fi
echo "Setting up $sac_venv with the pinned packages (first run only, a few minutes)..."
[ -x "$sac_python" ] || "$python" -m venv "$sac_venv"
"$sac_python" -m pip install --quiet --disable-pip-version-check -r "$lock"
echo "$want" > "$stamp"
