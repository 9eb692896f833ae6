"""Benchmark 6: seconds from ./run_script.sh to the first SGD step (status.json's
first_sgd_step_at) for the default example, with the milestones in between, read off the
launcher's output and the programs' logs -> target ≤ 30 s.
"""
import datetime
import os
import re

import numpy as np

from bench import common

# An absl log line: 'I1121 08:36:33.991445 140004930415488 program_setup.py:28] message'.
ABSL_LINE = re.compile(r'^[IWEF](\d{4} \d\d:\d\d:\d\d\.\d{6}) +\d+ \S+\] (.*)$')


def log_times(exp_dir: str, program: str, message_start: str):
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


def milestones(run: common.SystemRun, first_sgd_step_at: float):
  """[(milestone, seconds from run_script.sh)]."""
  launcher_ready = next(t for t, line in run.output if line.startswith('experiment dir'))
  workers = [f'sac_collect_{i}' for i in range(run.workers)]
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


def main():
  args = common.parse_args(__doc__)
  workers = int(common.default_variables()['SAC_NUM_COLLECT_WORKERS'])
  runs = []
  for seed in range(1 if args.quick else 3):
    with common.SystemRun('startup', workers=workers, seed=seed) as run:
      status = run.wait_for(lambda status: 'first_sgd_step_at' in status, poll_s=0.1)
      runs.append(milestones(run, status['first_sgd_step_at']))
  seconds = np.array([[at for _, at in run] for run in runs])
  total = seconds[:, -1]  # the first SGD step
  order = np.argsort(np.median(seconds, axis=0))  # the programs start side by side
  names = [runs[0][i][0] for i in order]
  seconds = seconds[:, order]
  rows = [[name, common.spread(seconds[:, i])] for i, name in enumerate(names)]
  rows.append(['**run_script.sh → first SGD step**',
               f'{common.spread(total)}, {common.verdict(float(np.median(total)), 30, at_least=False)}'])

  def draw(axes):
    axes.barh(names[::-1], np.median(seconds, axis=0)[::-1], color='tab:blue')
    axes.axvline(30, color='tab:red', linestyle='--', label='target 30 s')
    axes.set_xlabel('seconds from run_script.sh (median)')
    axes.tick_params(axis='y', labelsize=7)
    axes.legend()

  common.write_result(args.out, 'startup', f'Start-up (N={workers} workers)',
                      ['milestone', f'seconds from run_script.sh, median [min, max] of {len(runs)}'],
                      rows, draw)


if __name__ == '__main__':
  main()
