"""Turns on shared CPUs: workers pinned to the same CPUs (the CPU plan shares them when there
are too few) do their iterations' work one after the other instead of side by side.

Two TensorFlow processes interleaved on one CPU make about 0.8 of one's env steps/s together;
one after the other they make all of it (docs/benchmarks.md). A turn is an exclusive flock on a
file named by the host and the CPU set: workers with CPUs of their own never wait, and the
kernel hands a killed holder's turn on.
"""
import contextlib
import fcntl
import os
import socket
import threading
import time
from typing import Iterable, Iterator, Optional

from absl import logging


def turn_file(turns_dir: str, cpus: Iterable[int]) -> str:
  """The lock file of the processes on `cpus` of this host (workers of a run on several nodes
  may have the same CPU numbers)."""
  return os.path.join(turns_dir, f'{socket.gethostname()}-cpus-{cpu_names(cpus)}.lock')


def cpu_names(cpus: Iterable[int]) -> str:
  return ','.join(str(cpu) for cpu in sorted(cpus))


class CpuTurns:
  """This process's turns among the processes pinned to the same CPUs."""

  def __init__(self, turns_dir: str, wait_bound_s: float, cpus: Optional[Iterable[int]] = None):
    os.makedirs(turns_dir, exist_ok=True)
    self.cpus = sorted(os.sched_getaffinity(0) if cpus is None else cpus)
    self._file = turn_file(turns_dir, self.cpus)
    self._wait_bound_s = wait_bound_s

  @contextlib.contextmanager
  def turn(self) -> Iterator[float]:
    """Runs the body in this process's turn, and gives the seconds it waited for it. After
    wait_bound_s (a CPU-mate stuck in its turn) it runs the body without one, sharing the
    CPUs as if there were no turns."""
    start = time.monotonic()
    fd = os.open(self._file, os.O_RDWR | os.O_CREAT, 0o644)
    taken = _TakenTurn(fd)
    if taken.wait(self._wait_bound_s):
      try:
        yield time.monotonic() - start
      finally:
        os.close(fd)  # releases the lock
    else:
      logging.warning('Waited %g s for a turn on CPUs %s (a process on them holds it); '
                      'going on without one', self._wait_bound_s, cpu_names(self.cpus))
      yield time.monotonic() - start


class _TakenTurn:
  """The lock, taken at once when it is free, else by a thread of its own that blocks on it, so
  that the wait has a bound. A turn given up on is released as soon as that thread gets it."""

  def __init__(self, fd: int):
    self._fd = fd
    self._taken = threading.Event()
    self._guard = threading.Lock()
    self._given_up = False
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      self._taken.set()
    except BlockingIOError:
      threading.Thread(target=self._take, name='cpu_turn', daemon=True).start()

  def _take(self) -> None:
    fcntl.flock(self._fd, fcntl.LOCK_EX)
    with self._guard:
      if not self._given_up:
        self._taken.set()
        return
    os.close(self._fd)

  def wait(self, timeout_s: float) -> bool:
    self._taken.wait(timeout_s)
    with self._guard:
      self._given_up = not self._taken.is_set()
      return not self._given_up
