# Sourced by every script that runs Python (setup_env.sh, train_script.sh, test.sh, bench.sh):
# the one place that decides the interpreter. SAC_PYTHON, e.g. the python of a conda env made
# from environment.yml, replaces the repository's .venv; setup_env.sh checks it against the pins.
sac_venv=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv
sac_python=$sac_venv/bin/python
if [ -n "${SAC_PYTHON:-}" ]; then
  if ! sac_python=$(command -v "$SAC_PYTHON"); then
    echo "error: SAC_PYTHON=$SAC_PYTHON is neither an executable file nor a command" >&2
    exit 2
  fi
  # The scripts change directory before they start it.
  case $sac_python in /*) ;; *) sac_python=$PWD/$sac_python ;; esac
fi
