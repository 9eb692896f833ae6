"""One run per experiment dir: its launcher holds an flock on the dir's lock file, and so does the
launcher's guard until the run is down. The kernel drops the lock when its holders are gone, so a
lock file left by a run that died is simply taken over."""
import fcntl
import os
from typing import Optional

from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import processes


class RunInUse(ValueError):
  """Another launcher's run is in the dir, described in one line."""


class RunLock:
  """The lock on one experiment dir, with the holder's PID in the file for the others' message."""

  def __init__(self, root: str):
    self._experiment = ExperimentDir(root)
    self._file = None

  def fileno(self) -> int:
    return self._file.fileno()

  def acquire(self) -> None:
    """Takes the lock on the dir (created if need be), or raises RunInUse. Again after the dir
    was renamed away (--fresh): takes the new dir's and lets the old one go."""
    path = self._experiment.lock_file
    os.makedirs(self._experiment.root, exist_ok=True)
    if self._file is not None and os.path.exists(path) and os.path.samestat(
        os.fstat(self._file.fileno()), os.stat(path)):
      return
    lock_file = open(path, 'a+')
    try:
      fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock_file.seek(0)
      holder = lock_file.read().strip()
      lock_file.close()
      launcher = int(holder) if holder.isdigit() else None  # not written yet
      raise RunInUse(_in_use(self._experiment.root, launcher)) from None
    lock_file.truncate(0)
    lock_file.write(f'{os.getpid()}\n')
    lock_file.flush()
    if self._file is not None:
      self._file.close()
    self._file = lock_file


def _in_use(root: str, launcher: Optional[int]) -> str:
  if launcher is None:
    return f'{root} is in use by another run'
  if processes.alive(launcher):
    return (f'{root} is in use by the run of launcher PID {launcher}; stop it first '
            f'(Ctrl-C in its terminal, or kill {launcher})')
  return (f'{root} is in use: the run of launcher PID {launcher} (gone) is still being stopped; '
          'try again in a minute')
