"""What the tests of tests/system/ share: real training runs (launcher/script_run.py) with the
tests' variables and config, the status tool's table, the CPUs a program runs on, TensorBoard
scalars, and skips that say why on the terminal."""
import glob
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import tensorflow as tf

from tfagents_system import REPO_ROOT as REPO
from tfagents_system.launcher import script_run
from tfagents_system.launcher.cpu_plan import parse_cpu_list

RECORDING_PARAMS = 'tests/params/recording_params.py'


class TrainingRun(script_run.ScriptRun):
  """One run of ./run_script.sh on a variables file written for the test, in tmp_path, with
  `config` (and a record dir of its own) as its config file."""

  def __init__(self, tmp_path, config, workers=2, params=RECORDING_PARAMS, extra_variables=None):
    name = f'test_{uuid.uuid4().hex[:8]}'
    self.record_dir = str(tmp_path / 'set_state_records')
    os.makedirs(self.record_dir)
    self.config = dict(config, record_dir=self.record_dir)
    config_path = tmp_path / 'config.json'
    config_path.write_text(json.dumps(self.config))
    variables = {
        'SAC_NUM_COLLECT_WORKERS': workers, 'SAC_REVERB_CPUS': 1, 'SAC_TRAIN_CPUS': 1,
        'SAC_COLLECT_WORKER_CPUS': 1, 'SAC_EXP_NAME': name, 'SAC_PARAMS': params,
        'SAC_CONFIG': str(config_path)}
    variables.update(extra_variables or {})
    super().__init__(variables, tmp_path / 'training_variables_test.sh')

  def wait_for_run_file(self, program, timeout_s=300):
    """The text of the program's daemontools run file, as soon as the launcher wrote it."""
    path = os.path.join(self.experiment.service_dir(program), 'run')
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
      try:
        with open(path) as f:
          text = f.read()
        if text.endswith('\n'):
          return text
      except FileNotFoundError:
        pass
      assert self.process.poll() is None, 'run ended early'
      time.sleep(0.02)
    raise TimeoutError(f'no run file for {program}')


def run_status(exp_dir):
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.tools.status', exp_dir], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  return result.stdout


def program_rows(output):
  """{program: {'state': ..., 'pid': ..., 'seconds': ..., 'starts': ..., 'CPUs': ...}}."""
  lines = output.splitlines()
  header = lines[1].split()
  return {line.split()[0]: dict(zip(header[1:], line.split()[1:]))
          for line in lines[2:] if line.startswith('sac_')}


def cpus_allowed(pid):
  """The set of CPUs a program may run on; None while its run file has not exec'd it yet
  (supervise has forked the shell, taskset has not pinned it) or once it has ended (a
  zombie's command line is empty)."""
  try:
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      command = os.path.basename(f.read().split(b'\0')[0].decode())
    with open(f'/proc/{pid}/status') as f:
      cpus = set(parse_cpu_list(re.search(r'Cpus_allowed_list:\s*(\S+)', f.read()).group(1)))
  except (FileNotFoundError, ProcessLookupError):
    return None
  return None if command in ('', 'sh', 'taskset') else cpus


def wait_until(predicate, timeout_s=300, interval_s=0.5):
  """The first true value of `predicate()`; TimeoutError after `timeout_s`."""
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    value = predicate()
    if value:
      return value
    time.sleep(interval_s)
  raise TimeoutError


def read_scalars(event_dir):
  """{tag: [(step, value), ...]} from the TensorBoard event files in a dir."""
  scalars = {}
  for path in sorted(glob.glob(os.path.join(event_dir, 'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = float(tf.make_ndarray(value.tensor)) if value.HasField('tensor') else value.simple_value
        scalars.setdefault(value.tag, []).append((event.step, number))
  return scalars


def skip_saying_why(pytestconfig, tests, reason):
  """Skips, saying why on the terminal too: the tests' output is captured."""
  with pytestconfig.pluginmanager.get_plugin('capturemanager').global_and_fixture_disabled():
    print(f'\n{tests} skipped: {reason}')
  pytest.skip(reason)
