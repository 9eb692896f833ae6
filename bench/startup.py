"""Benchmark 8: seconds from ./run_script.sh to the first SGD step (status.json's
first_sgd_step_at) for the default example, with the milestones in between, read off the
launcher's output and the programs' logs -> target ≤ 12 s.
"""
import numpy as np

from bench import common
from bench import shared_runs

TARGET_S = 12


def main(args):
  workers = int(common.default_variables()['SAC_NUM_COLLECT_WORKERS'])
  runs = [shared_runs.default_example_run(workers, args.quick).startup]  # seed 0
  for seed in range(1, 1 if args.quick else 3):
    with common.SystemRun('startup', workers=workers, seed=seed) as run:
      runs.append(shared_runs.startup_milestones(run))
  seconds = np.array([[at for _, at in run] for run in runs])
  total = seconds[:, -1]  # the first SGD step
  order = np.argsort(np.median(seconds, axis=0))  # the programs start side by side
  names = [runs[0][i][0] for i in order]
  seconds = seconds[:, order]
  rows = [[name, common.spread(seconds[:, i])] for i, name in enumerate(names)]
  rows.append(['**run_script.sh → first SGD step**',
               f'{common.spread(total)}, '
               f'{common.verdict(float(np.median(total)), TARGET_S, at_least=False)}'])

  def draw(axes):
    axes.barh(names[::-1], np.median(seconds, axis=0)[::-1], color='tab:blue')
    axes.axvline(TARGET_S, color='tab:red', linestyle='--', label=f'target {TARGET_S} s')
    axes.set_xlabel('seconds from run_script.sh (median)')
    axes.tick_params(axis='y', labelsize=7)
    axes.legend()

  common.write_result(args.out, 'startup', f'Start-up (N={workers} workers)',
                      ['milestone', f'seconds from run_script.sh, median [min, max] of {len(runs)}'],
                      rows, draw)


if __name__ == '__main__':
  main(common.parse_args(__doc__))
