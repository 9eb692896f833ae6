"""Noticing a run that does not heal by itself: a program that keeps crashing, or a trainer that
makes no progress, so that the launcher stops the run with an error instead of waiting forever."""
import dataclasses
import os
import re
from typing import Any, Dict, List, Optional

from tfagents_system.common import experiment_dir
from tfagents_system.launcher.daemontools import ServiceStatus
from tfagents_system.tools.status import PROGRAM_START

# A crash loop: a program started CRASH_LOOP_STARTS times since the run last made progress (the
# trainer rewrote status.json; for a worker, with an iteration it reported in). A start is a new
# pid in svstat, polled every second: supervise waits a second between restarts and a program
# takes seconds to start, so a start is hardly ever missed, and a missed one only delays this.
CRASH_LOOP_STARTS = 3
# A stall: the trainer rewrites status.json at least once an iteration, and an iteration waits
# for the workers at most worker_report_timeout_s beyond its SGD steps (a restarted trainer starts
# up and redoes one first). So no rewrite for worker_report_timeout_s + STALL_MULTIPLE x the
# longest time between two rewrites so far (taken as at least STALL_FLOOR_S, for the start-up
# before the first) means the trainer is stuck.
STALL_MULTIPLE = 3
STALL_FLOOR_S = 120.0

TRACEBACK = 'Traceback (most recent call last):'
EXCEPTION = re.compile(r'^[A-Za-z_][\w.]*(: .*)?$')  # 'ValueError: ...', not indented
GRPC_OS_ERROR = re.compile(r'"os_error":"([^"]+)"')  # e.g. a taken port: Address already in use
LOG_TAIL_BYTES = 1 << 16


@dataclasses.dataclass
class Failure:
  program: str
  cause: str  # 'keeps crashing (3 starts in 40 s, no progress)'
  crashed: bool

  def message(self, log_file: str) -> str:
    """The one line the run stops with."""
    error = last_error(log_file) if self.crashed else None
    return f"{self.program} {self.cause}{f': {error}' if error else ''}; see {log_file}"


_UNSEEN = object()


class RunWatch:
  """Fed every second with each program's svstat and the trainer's status.json."""

  def __init__(self, worker_report_timeout_s: float, now: float):
    self._worker_report_timeout_s = worker_report_timeout_s
    self._updated = _UNSEEN
    self._progress_at = now  # the launch counts as the first progress
    self._longest_gap_s = 0.0
    self._pids: Dict[str, Optional[int]] = {}
    self._starts: Dict[str, List[float]] = {}  # since the last progress

  @property
  def stall_bound_s(self) -> float:
    return self._worker_report_timeout_s + STALL_MULTIPLE * max(self._longest_gap_s, STALL_FLOOR_S)

  def observe(self, now: float, services: Dict[str, ServiceStatus],
              status: Optional[Dict[str, Any]]) -> Optional[Failure]:
    status = status or {}
    updated = status.get('updated')
    if self._updated is _UNSEEN:  # a resumed run's status.json is the previous run's
      self._updated = updated
    elif updated != self._updated:
      self._updated = updated
      self._progress(now, status.get('missing_workers') or ())
    for program, service in services.items():
      if service.up and service.pid != self._pids.get(program):
        self._pids[program] = service.pid
        starts = self._starts.setdefault(program, [])
        starts.append(now)
        if len(starts) >= CRASH_LOOP_STARTS:
          return Failure(program, f'keeps crashing ({len(starts)} starts in '
                         f'{now - starts[0]:.0f} s, no progress)', crashed=True)
    silent_s = now - self._progress_at
    if silent_s > self.stall_bound_s:
      return Failure(experiment_dir.TRAIN_PROGRAM,
                     f'made no progress for {silent_s:.0f} s (status.json not rewritten; the '
                     f'bound is {self.stall_bound_s:.0f} s)', crashed=False)
    return None

  def _progress(self, now: float, missing_workers) -> None:
    self._longest_gap_s = max(self._longest_gap_s, now - self._progress_at)
    self._progress_at = now
    for program, starts in self._starts.items():
      if experiment_dir.worker_index(program) not in missing_workers:
        starts.clear()


def last_error(log_file: str) -> Optional[str]:
  """The exception that ended the program's latest crashed start, from the end of its log
  ('ValueError: ...'), with the OS error gRPC logged before it, if any."""
  try:
    with open(log_file, 'rb') as f:
      f.seek(max(0, os.fstat(f.fileno()).st_size - LOG_TAIL_BYTES))
      lines = f.read().decode(errors='replace').splitlines()
  except FileNotFoundError:
    return None
  # The crashed start is the latest or the one before: the next may have started logging.
  starts = [i for i, line in enumerate(lines) if PROGRAM_START.search(line)]
  crashed_start = starts[-2] if len(starts) >= 2 else 0
  tracebacks = [i for i, line in enumerate(lines) if line.startswith(TRACEBACK)]
  if not tracebacks or tracebacks[-1] < crashed_start:
    return None
  traceback = tracebacks[-1]
  exception = next((line for line in lines[traceback + 1:] if EXCEPTION.match(line)), None)
  if exception is None:
    return None
  since = max([i for i in starts if i < traceback], default=0)
  os_errors = GRPC_OS_ERROR.findall('\n'.join(lines[since:traceback]))
  return f'{exception} ({os_errors[-1]})' if os_errors else exception
