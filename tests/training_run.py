"""Starting real training runs through run_script.sh in tests, and cleaning up after them."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import tensorflow as tf

from tfagents_system.launcher import run_stop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDING_PARAMS = 'tests/params/recording_params.py'


class TrainingRun:
  """One run of ./run_script.sh on a variables file written for the test."""

  def __init__(self, tmp_path, config, workers=2, params=RECORDING_PARAMS, extra_variables=None):
    self.name = f'test_{uuid.uuid4().hex[:8]}'
    self.exp_dir = os.path.join(REPO, 'logs', self.name)
    self.record_dir = str(tmp_path / 'set_state_records')
    os.makedirs(self.record_dir)
    self.config = dict(config, record_dir=self.record_dir)
    config_path = tmp_path / 'config.json'
    config_path.write_text(json.dumps(self.config))
    variables = {
        'SAC_NUM_COLLECT_WORKERS': workers, 'SAC_REVERB_CPUS': 1, 'SAC_TRAIN_CPUS': 1,
        'SAC_COLLECT_WORKER_CPUS': 1, 'SAC_EXP_NAME': self.name, 'SAC_PARAMS': params,
        'SAC_CONFIG': str(config_path)}
    variables.update(extra_variables or {})
    self.variables_file = tmp_path / 'training_variables_test.sh'
    self.variables_file.write_text(''.join(f'{k}={v}\n' for k, v in variables.items()))
    self.process = None
    self.output = ''

  def start(self):
    self.process = subprocess.Popen(
        [os.path.join(REPO, 'run_script.sh'), str(self.variables_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    return self

  def wait(self, timeout_s=900):
    self.output, _ = self.process.communicate(timeout=timeout_s)
    return self.process.returncode

  def status(self):
    try:
      with open(os.path.join(self.exp_dir, 'status.json')) as f:
        return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
      return None

  def wait_for_iteration(self, iteration, timeout_s=300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
      status = self.status()
      if status and status.get('iteration', 0) >= iteration:
        return status
      assert self.process.poll() is None, 'run ended early'
      time.sleep(0.5)
    raise TimeoutError(f'iteration {iteration} not reached')

  def program_pid(self, program):
    result = subprocess.run(['svstat', os.path.join(self.exp_dir, 'services', program)],
                            capture_output=True, text=True, check=False)
    words = result.stdout.replace('(', ' ').replace(')', ' ').split()
    return int(words[3]) if len(words) > 3 and words[1] == 'up' and words[2] == 'pid' else None

  def leftover_processes(self):
    """PIDs of the run's processes still running (programs, guard, daemontools)."""
    return run_stop.processes_of_run(self.exp_dir)

  def log(self, program):
    with open(os.path.join(self.exp_dir, 'logs', program, 'current')) as f:
      return f.read()

  def wait_for_run_file(self, program, timeout_s=300):
    """The text of the program's daemontools run file, as soon as the launcher wrote it."""
    path = os.path.join(self.exp_dir, 'services', program, 'run')
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

  def cleanup(self):
    """Kills by PID whatever a failed test left, then removes the experiment dir."""
    if self.process and self.process.poll() is None:
      self.process.send_signal(signal.SIGTERM)
      try:
        self.process.communicate(timeout=60)
      except subprocess.TimeoutExpired:
        self.process.kill()
    for pid in self.leftover_processes():
      try:
        os.kill(pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
    shutil.rmtree(self.exp_dir, ignore_errors=True)


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
