"""Stopping a run: the trainer first (it finishes its iteration and checkpoints), then the other
programs and daemontools, then anything of the run still running. The launcher stops a run this
way, and so does its guard when the launcher is gone."""
import os
from typing import List, Sequence

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import processes

# How long a stopping trainer may take to finish its iteration and checkpoint.
TRAINER_STOP_GRACE_S = 120.0
# How long a process left after the stop gets between SIGTERM and SIGKILL.
STRAGGLER_GRACE_S = 5.0
DAEMONTOOLS_PROGRAMS = ('svscan', 'supervise', 'multilog')


def stop_run(experiment: experiment_dir.ExperimentDir, svscan: daemontools.Svscan,
             keep: Sequence[int] = (), trainer_can_checkpoint: bool = True) -> List[str]:
  """Stops every program of the run, then ends by PID what of the run still runs (a program
  whose supervise was killed, a supervise whose svscan was), but this process and `keep`;
  returns those it had to end, as '<pid> <program>'."""
  # The trainer checkpoints through the replay server: without it, waiting is pointless.
  trainer_grace_s = TRAINER_STOP_GRACE_S if trainer_can_checkpoint else daemontools.STOP_GRACE_S
  svscan.stop(first=[experiment.service_dir(experiment_dir.TRAIN_PROGRAM)],
              first_grace_s=trainer_grace_s)
  left = processes_of_run(experiment.root, exclude=[os.getpid(), *keep])
  described = [processes.describe(pid) for pid in left]
  processes.end(left, STRAGGLER_GRACE_S)
  return described


def processes_of_run(root: str, exclude: Sequence[int] = ()) -> List[int]:
  """The processes of the run in experiment dir `root`: its programs (or their srun) and the
  launcher's guard, by their --root_dir; svscan, supervise and multilog, which work in its
  services dir. Not a shell, tail or TensorBoard that looks at the dir."""
  root = os.path.abspath(root)
  found = []
  for pid, argv, cwd in processes.live():
    daemontools_in_root = (os.path.basename(argv[0]) in DAEMONTOOLS_PROGRAMS
                           and (cwd + os.sep).startswith(root + os.sep))
    if pid not in exclude and (f'--root_dir={root}' in argv or daemontools_in_root):
      found.append(pid)
  return found
