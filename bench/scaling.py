"""Benchmark 5: how collection scales with the number of workers. For N = 1, 2, 4, ... up to the
machine's CPUs, the default example runs with N workers; aggregate env steps/s = all workers'
env steps of an iteration ÷ the slowest one's collect time (they collect side by side;
RunTime/collect_phase_env_steps_per_sec). Scaling efficiency = aggregate(N) ÷ (N × one worker's
env steps/s at N=1) -> target ≥ 0.9. Medians over the iterations after the warm-up.
"""
import os

import numpy as np

from bench import common
from tfagents_system import iteration_timing


def worker_counts():
  counts, n = [], 1
  while n <= len(os.sched_getaffinity(0)):
    counts.append(n)
    n *= 2
  return counts


def main():
  args = common.parse_args(__doc__)
  num_iter = 10 if args.quick else 25
  aggregate = {}
  for workers in worker_counts():
    with common.SystemRun('scaling', workers=workers, num_iter=num_iter) as run:
      run.wait_until_done()
      summaries = run.train_summaries()
    aggregate[workers] = common.after_warmup(
        summaries[iteration_timing.COLLECT_PHASE_ENV_STEPS_PER_SEC])
  one_worker = float(np.median(aggregate[1]))
  ratios = {n: float(np.median(values)) / (n * one_worker) for n, values in aggregate.items()}
  rows = [[n, common.spread(values, '{:.0f}'), f'{n * one_worker:.0f}', f'{ratios[n]:.2f}',
           common.verdict(ratios[n], 0.9)] for n, values in aggregate.items()]
  common.write_result(
      args.out, 'scaling', 'Worker scaling (aggregate collect env steps/s)',
      ['workers N', 'aggregate env steps/s, median [min, max]', 'N × one worker', 'efficiency',
       'target'], rows,
      common.draw_ratios([f'N={n}' for n in ratios], list(ratios.values()), 0.9,
                         'aggregate ÷ (N × one worker)'),
      notes=f'{common.default_variables()["SAC_REVERB_CPUS"]} CPU for the replay server, '
            f'{common.default_variables()["SAC_TRAIN_CPUS"]} for the trainer and '
            f'{common.default_variables()["SAC_COLLECT_WORKER_CPUS"]} per worker requested; '
            'with fewer CPUs than that the programs share them round-robin.')


if __name__ == '__main__':
  main()
