"""The launcher's exit codes: what launch.py returns, and the same names and numbers in
slurm/train.sbatch, which decides on them whether to requeue a job."""
import os
import re
import subprocess
import sys

from tfagents_system import REPO_ROOT
from tfagents_system.launcher import exit_codes

NAMES = ('RUN_FAILED', 'BAD_INPUTS')


def sbatch_assignments():
  with open(os.path.join(REPO_ROOT, 'slurm', 'train.sbatch')) as f:
    return dict(re.findall(r'^([A-Z_]+)=(\d+)$', f.read(), re.M))


def test_train_sbatch_names_the_launchers_exit_codes_as_exit_codes_py_does():
  assert sbatch_assignments() == {name: str(getattr(exit_codes, name)) for name in NAMES}


def test_the_exit_codes_differ_and_only_an_ended_run_exits_with_0():
  codes = [exit_codes.ENDED] + [getattr(exit_codes, name) for name in NAMES]
  assert exit_codes.ENDED == 0 and len(set(codes)) == len(codes)


def test_a_launch_with_bad_inputs_exits_with_bad_inputs():
  environ = {k: v for k, v in os.environ.items() if not k.startswith(('SAC_', 'SLURM_'))}
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.launcher.launch'], cwd=REPO_ROOT,
                          env=dict(environ, PYTHONPATH=REPO_ROOT), capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == exit_codes.BAD_INPUTS, result.stderr
  assert result.stderr == 'error: the variables file: SAC_NUM_COLLECT_WORKERS is not set\n'
