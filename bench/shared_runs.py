"""What several benchmarks measure from the same run, done once per `python -m bench`: the
default example's runs with N=1 and N=2 workers, and the bare loops on a set of CPUs. A run of
the system costs ~20 s of start-up on 2 CPUs; the same run serves the sync-overhead breakdown,
the start-up milestones, the programs' peak memory and the performance model's check.
"""
import dataclasses
import datetime
import functools
import os
import re
from typing import Dict, List, Sequence, Tuple

import numpy as np

from bench import common
from tfagents_system.common import experiment_dir

# Iterations of the shared default-example runs: enough for each benchmark that reads them
# (sync_overhead and efficiency want the most).
DEFAULT_RUN_ITERATIONS = {1: {True: 10, False: 30}, 2: {True: 12, False: 40}}
BARE_COLLECT_EPISODES = {True: 10, False: 40}
BARE_SGD_STEPS = {True: 300, False: 1000}
# An absl log line: 'I1121 08:36:33.991445 140004930415488 supervised_program.py:33] message'.
ABSL_LINE = re.compile(r'^[IWEF](\d{4} \d\d:\d\d:\d\d\.\d{6}) +\d+ \S+\] (.*)$')


@dataclasses.dataclass(frozen=True)
class FinishedRun:
  """What a run of the default example left: its trainer's summaries, its start-up milestones
  and the peak RSS of each program."""
  workers: int
  summaries: Dict[str, np.ndarray]
  startup: List[Tuple[str, float]]  # (milestone, seconds from run_script.sh)
  peak_rss_mib: Dict[str, float]


def status_kib(pid: int, field: str) -> int:
  """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM)."""
  with open(f'/proc/{pid}/status') as f:
    for line in f:
      if line.startswith(field + ':'):
        return int(line.split()[1])
  raise KeyError(field)


def log_times(exp_dir: str, program: str, message_start: str) -> List[float]:
  """time.time() of every line of a program's log that starts with `message_start`."""
  path = os.path.join(exp_dir, 'logs', program, 'current')
  year = datetime.date.today().year
  times = []
  with open(path, errors='replace') as f:
    for line in f:
      match = ABSL_LINE.match(line)
      if match and match.group(2).startswith(message_start):
        times.append(datetime.datetime.strptime(f'{year}{match.group(1)}',
                                                '%Y%m%d %H:%M:%S.%f').timestamp())
  return times


def startup_milestones(run: common.SystemRun) -> List[Tuple[str, float]]:
  """(milestone, seconds from run_script.sh) up to the first SGD step, read off the launcher's
  output and the programs' logs."""
  first_sgd_step_at = run.wait_for(lambda status: 'first_sgd_step_at' in status,
                                   poll_s=0.1)['first_sgd_step_at']
  launcher_ready = next(t for t, line in run.timed_output if line.startswith('experiment dir'))
  workers = [experiment_dir.collect_program(i) for i in range(run.workers)]
  found = [
      ('launcher: inputs checked, services written', launcher_ready),
      ('trainer: TensorFlow imported', log_times(run.exp_dir, 'sac_train', 'trainer on CPUs')[0]),
      ('replay server: listening', log_times(run.exp_dir, 'sac_replay_buffer', 'Reverb server')[0]),
      ('trainer: agent and Learner ready; publishes the initial collection',
       log_times(run.exp_dir, 'sac_train', 'Waiting for the initial')[0]),
      ('workers: initial random-policy episodes reported (last worker)',
       max(log_times(run.exp_dir, worker, 'Iteration -1:')[0] for worker in workers)),
      ('trainer: first SGD step done', first_sgd_step_at)]
  return [(name, at - run.started_at) for name, at in found]


@functools.lru_cache(maxsize=None)
def default_example_run(workers: int, quick: bool) -> FinishedRun:
  """The default example with `workers` workers, DEFAULT_RUN_ITERATIONS long, run once."""
  num_iter = DEFAULT_RUN_ITERATIONS[workers][quick]
  with common.SystemRun(f'default_n{workers}', workers=workers, num_iter=num_iter) as run:
    startup = startup_milestones(run)
    # The programs' high-water marks as the last iteration runs, before they stop.
    run.wait_for(lambda status: status.get('iteration', 0) >= num_iter - 1)
    peak_rss = {program: status_kib(run.program_pid(program), 'VmHWM') / 1024
                for program in experiment_dir.program_names(workers)}
    run.wait_until_done()
    return FinishedRun(workers, run.train_summaries(), startup, peak_rss)


@functools.lru_cache(maxsize=None)
def bare_rate(loop: str, cpus: Tuple[int, ...], quick: bool,
              params_file: str = common.BENCH_PARAMS, config_file: str = common.DEFAULT_CONFIG
              ) -> float:
  """The bare loop's steps/s (bench/bare_loops.py: 'collect' env steps/s, 'sgd' SGD steps/s)
  pinned to `cpus`, measured once per arguments."""
  amount = (['--episodes', str(BARE_COLLECT_EPISODES[quick])] if loop == 'collect'
            else ['--steps', str(BARE_SGD_STEPS[quick])])
  result = common.run_pinned_child(
      'bench.bare_loops', [loop, '--params', params_file, '--config', config_file, *amount],
      cpus)[0]
  return result['env_steps_per_sec' if loop == 'collect' else 'sgd_steps_per_sec']


def cpus_of(programs: Sequence[str], workers: int) -> Tuple[int, ...]:
  """The CPUs the launcher pins these programs to, together, in a default run."""
  return tuple(sorted(set().union(*(common.planned_cpus(p, workers) for p in programs))))
