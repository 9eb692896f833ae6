"""The launcher's guard: stops the run when the launcher is gone without having stopped it
(kill -9, the OOM killer), and keeps the run's lock until the run is down.

    python -m tfagents_system.launcher.run_guard --root_dir=<experiment dir>

The launcher starts it in a session of its own (a closed terminal's SIGHUP does not reach it),
its stdin a pipe the launcher alone writes to: the launcher writes STOPPED once it has stopped the
run itself; the end of the input without it means the launcher died. Its account goes to the
experiment's logs/run_guard.log.
"""
import os
import subprocess
import sys
import time

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import run_lock
from tfagents_system.launcher import run_stop

STOPPED = 'stopped'
RELEASE_TIMEOUT_S = 10.0


class Guard:
  """The guard of one run, as its launcher sees it."""

  def __init__(self, experiment: experiment_dir.ExperimentDir, lock: run_lock.RunLock):
    os.makedirs(os.path.dirname(experiment.guard_log_file), exist_ok=True)
    with open(experiment.guard_log_file, 'a') as log:
      self._process = subprocess.Popen(
          [sys.executable, '-m', 'tfagents_system.launcher.run_guard', f'--root_dir={experiment.root}'],
          stdin=subprocess.PIPE, stdout=log, stderr=log, text=True, pass_fds=[lock.fileno()],
          start_new_session=True)

  @property
  def pid(self) -> int:
    return self._process.pid

  def release(self) -> None:
    """The run is down: the guard lets the lock go and exits."""
    try:
      self._process.stdin.write(STOPPED + '\n')
      self._process.stdin.close()
    except OSError:  # it died: nothing to release
      pass
    try:
      self._process.wait(RELEASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
      self._process.kill()
      self._process.wait()


def _log(message: str) -> None:
  print(f'{time.strftime("%Y-%m-%d %H:%M:%S")} {message}', flush=True)


def main(argv) -> int:
  experiment = experiment_dir.ExperimentDir(argv[1].split('=', 1)[1])
  if sys.stdin.read().strip() == STOPPED:
    return 0
  _log('the launcher is gone without having stopped the run: stopping it')
  ended = run_stop.stop_run(experiment, daemontools.Svscan.find(experiment.services_dir))
  if ended:
    _log(f'ended by PID what was left of the run: {", ".join(ended)}')
  _log('the run is stopped')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
