#!/usr/bin/env bash
# Idempotent set-up shared by run_script.sh and test.sh: the pinned .venv and daemontools.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
lock="$repo/requirements.lock"
stamp="$venv/.requirements.sha256"

if ! command -v svscan >/dev/null || ! command -v multilog >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing daemontools with apt-get..."
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq daemontools >/dev/null
  else
    echo "error: daemontools is missing: run 'sudo apt-get install daemontools' (or install it locally, see README.md)" >&2
    exit 2
  fi
fi

want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$candidate; break
  fi
done
if [ -z "$python" ]; then
  echo "error: Python 3.11 is required (python3.11 or python3 on PATH)" >&2
  exit 2
fi
echo "Setting up $venv with the pinned packages (first run only, a few minutes)..."
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
echo "$want" > "$stamp"
