"""A training run started from Python as a user starts one, `./run_script.sh <variables file>`, and
watched through what the run writes: its output, status.json, its programs' PIDs and logs. The
system tests (tests/training_run.py) and the benchmarks (bench/common.py) drive their runs with it.
"""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, List, Mapping, Optional, Tuple

from tfagents_system import REPO_ROOT
from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import processes
from tfagents_system.launcher import run_stop

RUN_SCRIPT = os.path.join(REPO_ROOT, 'run_script.sh')
# A stopped launcher waits at most 2 minutes for its trainer's checkpoint, then stops the rest.
STOP_TIMEOUT_S = 200


class ScriptRun:
  """./run_script.sh on a variables file written from `variables` (SAC_EXP_NAME among them) at
  `variables_file`; the run's experiment dir is removed when it is stopped."""

  def __init__(self, variables: Mapping[str, object], variables_file: str):
    self.name = str(variables['SAC_EXP_NAME'])
    self.exp_dir = experiment_dir.experiment_root(self.name)
    self.variables_file = str(variables_file)
    with open(self.variables_file, 'w') as f:
      f.writelines(f'{key}={value}\n' for key, value in variables.items())
    self.process: Optional[subprocess.Popen] = None
    self.started_at: Optional[float] = None
    self.timed_output: List[Tuple[float, str]] = []  # (time.time(), line) as run_script.sh printed
    self._reader: Optional[threading.Thread] = None

  @property
  def experiment(self) -> experiment_dir.ExperimentDir:
    return experiment_dir.ExperimentDir(self.exp_dir)

  def start(self) -> 'ScriptRun':
    """Starts run_script.sh, again after an earlier start ended (it resumes the run)."""
    self.timed_output = []
    self.started_at = time.time()
    self.process = subprocess.Popen([RUN_SCRIPT, self.variables_file], cwd=REPO_ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    self._reader = threading.Thread(target=self._read_output, args=(self.process.stdout,),
                                    daemon=True)
    self._reader.start()
    return self

  def _read_output(self, stdout) -> None:
    for line in stdout:
      self.timed_output.append((time.time(), line))

  @property
  def output(self) -> str:
    """What run_script.sh printed so far (all of it once `wait` returned)."""
    return ''.join(line for _, line in self.timed_output)

  def __enter__(self) -> 'ScriptRun':
    return self.start()

  def __exit__(self, *_) -> None:
    self.stop()

  def wait(self, timeout_s: float = 900) -> int:
    """run_script.sh's exit code, once it ended and its output is read."""
    deadline = time.monotonic() + timeout_s
    self.process.wait(timeout=timeout_s)
    if self._reader is not None:
      self._reader.join(max(0.0, deadline - time.monotonic()))
    return self.process.returncode

  def status(self) -> Optional[dict]:
    """status.json; None before the trainer first writes it."""
    return self.experiment.read_status()

  def wait_for(self, condition: Callable[[dict], bool], timeout_s: float = 900,
               poll_s: float = 0.2) -> dict:
    """Polls status.json until `condition(status)`; returns that status. RuntimeError if the run
    ends first, TimeoutError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
      status = self.status()
      if status and condition(status):
        return status
      if self.process.poll() is not None:
        raise RuntimeError(f'{self.name} ended early (exit code {self.process.returncode}):\n'
                           + ''.join(line for _, line in self.timed_output[-20:]))
      time.sleep(poll_s)
    raise TimeoutError(f'{self.name}: condition not met in {timeout_s:.0f}s')

  def wait_for_iteration(self, iteration: int, timeout_s: float = 300) -> dict:
    return self.wait_for(lambda status: status.get('iteration', 0) >= iteration, timeout_s)

  def program_pid(self, program: str) -> Optional[int]:
    """The PID of the program if it is up."""
    return daemontools.svstat(self.experiment.service_dir(program)).pid

  def log(self, program: str) -> str:
    with open(self.experiment.log_file(program)) as f:
      return f.read()

  def leftover_processes(self) -> List[int]:
    """PIDs of the run's processes still running (programs, guard, daemontools)."""
    return run_stop.processes_of_run(self.exp_dir)

  def stop(self) -> None:
    """end(), then removes the experiment dir."""
    self.end()
    shutil.rmtree(self.exp_dir, ignore_errors=True)

  def end(self) -> None:
    """SIGTERM to run_script.sh (the launcher stops every program, checkpoints kept) if it still
    runs, then kills by PID whatever of the run is left."""
    if self.process and self.process.poll() is None:
      self.process.send_signal(signal.SIGTERM)
      try:
        self.process.wait(timeout=STOP_TIMEOUT_S)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
    for pid in self.leftover_processes():
      print(f'warning: {self.name}: {processes.describe(pid)} was left running; killing it',
            file=sys.stderr)
      processes.send(pid, signal.SIGKILL)
