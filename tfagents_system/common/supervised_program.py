"""What every program of a run is, before it loads anything heavy: a process supervise runs for
one experiment dir, and ends with."""
import ctypes
import os
import signal
import sys
from typing import List

from absl import flags
from absl import logging

flags.DEFINE_string('root_dir', None, 'Experiment dir.')

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def exit_with_supervise() -> None:
  """SIGTERM when supervise is gone (killed by a user or the OOM killer): svscan starts a new
  supervise and, with it, a second copy of this program, so this one must not go on (the trainer
  finishes its iteration and checkpoints first). SAC_SUPERVISE_PID is set by the run file; a
  program started otherwise (srun's, on another node) is signalled when its own parent goes."""
  parent = int(os.environ.get('SAC_SUPERVISE_PID') or os.getppid())
  ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
  if os.getppid() != parent:  # it was gone already: no signal will come
    sys.exit(f'supervise (pid {parent}) is gone; exiting')


def start(role: str) -> List[int]:
  """What every program does first: ends with supervise, and logs its start (status.py counts
  these lines) with the CPUs it is pinned to, which it returns."""
  exit_with_supervise()
  cpus = sorted(os.sched_getaffinity(0))
  logging.info('%s on CPUs %s', role, cpus)
  return cpus
