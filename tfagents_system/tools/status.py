"""What a run is doing: each program's supervise state, starts and CPUs, and the trainer's progress.

  python -m tfagents_system.tools.status logs/<exp>

Works while the run goes and after it ended, when no supervise is left to ask. On a sweep's dir
(sweep.py) it lists the sweep's tasks with their state.
"""
import dataclasses
import glob
import os
import re
import sys
import time
from typing import List, Optional

from absl import app

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import sweep
from tfagents_system.launcher.progress_display import format_best_policy
from tfagents_system.launcher.progress_display import format_progress
from tfagents_system.trainer import iteration_timing

# supervised_program.start logs '<role> on CPUs [...]' once each time a program starts.
PROGRAM_START = re.compile(r'supervised_program\.py:\d+\] .* on CPUs \[')
TASKSET = re.compile(r"\btaskset -c '?([0-9,-]+)")


@dataclasses.dataclass
class ProgramStatus:
  name: str
  state: str  # up, down (supervise runs, the program does not) or stopped (no supervise)
  pid: Optional[int]
  seconds: Optional[int]  # in that state, as supervise counts it
  starts: int
  cpus: str


def program_names(experiment: experiment_dir.ExperimentDir) -> List[str]:
  """The programs with a service dir, in launch order."""
  if not os.path.isdir(experiment.services_dir):
    return []
  names = [n for n in os.listdir(experiment.services_dir)
           if os.path.isfile(os.path.join(experiment.service_dir(n), 'run'))]
  # There are fewer workers than service dirs, so this lists every name there can be.
  return [n for n in experiment_dir.program_names(len(names)) if n in names]


def program_status(experiment: experiment_dir.ExperimentDir, name: str) -> ProgramStatus:
  service = daemontools.svstat(experiment.service_dir(name))
  if service.up:
    state = 'up'
  elif service.text.startswith('down'):
    state = 'down'
  else:  # 'supervise not running', 'unable to open supervise/ok': the run has ended
    state = 'stopped'
  return ProgramStatus(name, state, service.pid, service.seconds,
                       count_starts(experiment, name), service_cpus(experiment, name))


def count_starts(experiment: experiment_dir.ExperimentDir, name: str) -> int:
  """Starts logged in the current log and in the older ones multilog keeps beside it (@*.s)."""
  log_dir = experiment.log_dir(name)
  starts = 0
  for path in glob.glob(os.path.join(log_dir, '@*')) + [experiment.log_file(name)]:
    try:
      with open(path, errors='replace') as f:
        starts += sum(1 for line in f if PROGRAM_START.search(line))
    except FileNotFoundError:  # multilog removed it, or has not written yet
      pass
  return starts


def service_cpus(experiment: experiment_dir.ExperimentDir, name: str) -> str:
  """The CPU list the run file pins the program to with taskset."""
  try:
    with open(os.path.join(experiment.service_dir(name), 'run')) as f:
      match = TASKSET.search(f.read())
  except FileNotFoundError:
    return '?'
  return match.group(1) if match else '?'


def format_programs(programs: List[ProgramStatus]) -> str:
  rows = [('program', 'state', 'pid', 'seconds', 'starts', 'CPUs')]
  rows += [(p.name, p.state, _or_dash(p.pid), _or_dash(p.seconds), str(p.starts), p.cpus)
           for p in programs]
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  return '\n'.join('  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                   for row in rows)


def _or_dash(value) -> str:
  return '-' if value is None else str(value)


def format_run_status(status: Optional[dict], now: float) -> str:
  if status is None:
    return 'no status.json yet: the trainer writes it after the initial collection'
  done = 'yes' if status.get('done') else 'no'
  updated = (f" (updated {now - status['updated']:.0f} s ago)"
             if status.get('updated') is not None else '')
  lines = [f'{format_progress(status)} | done: {done}{updated}']
  pace = iteration_timing.bottleneck(status.get('timing') or {})
  if pace:
    lines.append(f'last iteration: {pace}')
  if status.get('best_policy'):
    lines.append(f"best policy: {format_best_policy(status['best_policy'])}")
  return '\n'.join(lines)


def task_state(experiment: experiment_dir.ExperimentDir) -> str:
  """not started, running, done, failed or stopped (ended before its last iteration)."""
  status = experiment.read_status()
  if status and status.get('failed'):
    return 'failed'
  if status and status.get('done'):
    return 'done'
  if daemontools.svstat(experiment.service_dir(experiment_dir.TRAIN_PROGRAM)).up:
    return 'running'
  return 'stopped' if status or os.path.isdir(experiment.services_dir) else 'not started'


def format_sweep(manifest_file: str) -> str:
  tasks = sweep.manifest_tasks(sweep.read_manifest(manifest_file))
  rows = [('task', 'state', 'iteration', 'eval return', 'experiment dir')]
  for task in tasks:
    experiment = experiment_dir.ExperimentDir(sweep.task_dir(manifest_file, task))
    status = experiment.read_status() or {}
    iteration = f"{status['iteration']}/{status['num_iter']}" if 'iteration' in status else '-'
    eval_return = (f"{status['eval_return']:.2f}" if status.get('eval_return') is not None
                   else '-')
    rows.append((str(task.index), task_state(experiment), iteration, eval_return, task.name))
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  table = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
  return '\n'.join([f'sweep {os.path.dirname(os.path.abspath(manifest_file))}: '
                    f'{sweep.plural(len(tasks), "task")}']
                   + table)


def main(argv):
  if len(argv) != 2:
    raise app.UsageError('give one experiment dir, e.g. logs/<exp>')
  experiment = experiment_dir.ExperimentDir(argv[1])
  if os.path.isfile(sweep.manifest_path(experiment.root)):
    print(format_sweep(sweep.manifest_path(experiment.root)))
    return 0
  if not (os.path.isdir(experiment.services_dir) or os.path.isfile(experiment.status_file)):
    print(f'error: {argv[1]} is not an experiment dir (no services/ or status.json in it)',
          file=sys.stderr)
    return 2
  print(f'experiment {experiment.root}')
  overrides = experiment.read_params_overrides()
  if overrides:
    print(f'TrainParams overrides: {experiment_dir.format_overrides(overrides)}')
  programs = [program_status(experiment, name) for name in program_names(experiment)]
  if programs:
    print(format_programs(programs))
  print(format_run_status(experiment.read_status(), time.time()))
  return 0


if __name__ == '__main__':
  app.run(main)
