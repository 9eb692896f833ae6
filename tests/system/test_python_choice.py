"""SAC_PYTHON (e.g. a conda env's python) replaces .venv as the interpreter of setup_env.sh,
run_script.sh, test.sh and bench.sh; one that is not Python 3.11 with every pin of
requirements.lock is refused in one line before anything starts."""
import os
import shutil
import subprocess
import sys
import types

import pytest

from tfagents_system.launcher import progress_display

from training_run import REPO
sys.path.insert(0, os.path.join(REPO, 'scripts'))
import check_pins  # pylint: disable=g-import-not-at-top,wrong-import-position

EXP_NAME = 'python_choice_never_created'
VARIABLES = {
    'SAC_NUM_COLLECT_WORKERS': '1', 'SAC_REVERB_CPUS': '1', 'SAC_TRAIN_CPUS': '1',
    'SAC_COLLECT_WORKER_CPUS': '1', 'SAC_EXP_NAME': EXP_NAME,
    'SAC_PARAMS': 'tfagents_system/point_mass_params.py', 'SAC_CONFIG': 'config/point_mass.json',
}
CONDA_HINT = '(conda env create -f environment.yml makes one that does)'


def run_script(tmp_path, sac_python, **overrides):
  variables = tmp_path / 'vars.sh'
  variables.write_text(''.join(f'{k}={v}\n' for k, v in dict(VARIABLES, **overrides).items()))
  return subprocess.run([os.path.join(REPO, 'run_script.sh'), str(variables)], cwd=REPO,
                        env=dict(os.environ, SAC_PYTHON=sac_python), capture_output=True,
                        text=True, timeout=300)


def the_error(result):
  assert result.returncode == 2, result.stdout + result.stderr
  errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert len(errors) == 1 and len(result.stderr.splitlines()) == 1, result.stderr
  assert not os.path.exists(os.path.join(REPO, 'logs', EXP_NAME))
  return errors[0]


def test_the_interpreter_running_the_tests_satisfies_the_pins():
  # test.sh runs the tests with .venv's python or with SAC_PYTHON, both checked by setup_env.sh.
  result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'check_pins.py'),
                           os.path.join(REPO, 'requirements.lock')], capture_output=True, text=True)
  assert (result.returncode, result.stdout, result.stderr) == (0, '', '')


def test_setup_accepts_sac_python_and_makes_no_venv(tmp_path):
  # The real set-up scripts in a copy of the repository without .venv, so that one made shows.
  repo = tmp_path / 'repo'
  (repo / 'scripts').mkdir(parents=True)
  for path in ('scripts/setup_env.sh', 'scripts/python.sh', 'scripts/check_pins.py',
               'requirements.lock'):
    shutil.copy2(os.path.join(REPO, path), repo / path)
  result = subprocess.run([str(repo / 'scripts' / 'setup_env.sh')],
                          env=dict(os.environ, SAC_PYTHON=sys.executable), capture_output=True,
                          text=True, timeout=60)
  assert (result.returncode, result.stdout, result.stderr) == (0, '', '')
  assert not (repo / '.venv').exists()


def test_run_refuses_a_python_without_the_pins(tmp_path):
  env = tmp_path / 'env'
  subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(env)], check=True)
  python = str(env / 'bin' / 'python')
  name, version = next(iter(check_pins.pins(os.path.join(REPO, 'requirements.lock')).items()))
  assert the_error(run_script(tmp_path, python)) == (
      f'error: SAC_PYTHON={python} does not satisfy requirements.lock: {name} is not installed, '
      f'needs {version} {CONDA_HINT}')


def test_run_refuses_a_missing_python(tmp_path):
  assert the_error(run_script(tmp_path, '/nonexistent/bin/python')) == (
      'error: SAC_PYTHON=/nonexistent/bin/python is neither an executable file nor a command')


def test_a_run_with_sac_python_reaches_the_launcher(tmp_path):
  # A python that notes what it runs, then runs the one of these tests (which has the pins). A
  # bad variable stops the launcher at its first check, before TensorFlow loads or anything starts.
  ran = tmp_path / 'ran'
  python = tmp_path / 'python'
  python.write_text(f'#!/bin/sh\necho "$*" >> {ran}\nexec {sys.executable} "$@"\n')
  python.chmod(0o755)
  assert the_error(run_script(tmp_path, str(python), SAC_REVERB_CPUS='two')) == (
      f"error: {tmp_path}/vars.sh: SAC_REVERB_CPUS must be a whole number, got 'two'")
  assert ran.read_text().splitlines() == [
      f'{REPO}/scripts/check_pins.py {REPO}/requirements.lock', '-m tfagents_system.launcher.launch']


@pytest.mark.parametrize('executable, shown', [
    (os.path.join(REPO, '.venv', 'bin', 'python'), '.venv/bin/python'),
    ('/opt/conda/envs/sac_utils/bin/python', '/opt/conda/envs/sac_utils/bin/python')])
def test_the_run_py_hint_names_the_interpreter_used(tmp_path, monkeypatch, executable, shown):
  monkeypatch.setattr(sys, 'executable', executable)
  experiment = types.SimpleNamespace(
      read_status=lambda: {}, latest_policy_checkpoint=lambda: 'p/policy_checkpoint_0000000010',
      train_dir='t', policies_dir='p', root='r')
  settings = types.SimpleNamespace(params='params.py', config='config.json')
  out = tmp_path / 'out'
  with open(out, 'w') as stream:
    progress_display.ProgressDisplay(stream).finish(experiment, settings, completed=True)
  assert f'evaluate the policy: {shown} tfagents_system/run.py --params params.py' in out.read_text()
