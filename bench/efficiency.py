"""Benchmarks 1 and 2: one collect worker's and the trainer's speed inside a running system,
each against a bare single-process loop pinned to the same CPU with the same thread pools.

  collector efficiency = a worker's env steps/s while collecting (RunTime/
      worker_collect_env_steps_per_sec: Actor with Reverb observer, flush included)
      ÷ a plain Python loop of the same env and collect policy network   -> target ≥ 0.8
  trainer efficiency = the trainer's SGD steps/s during its SGD phase (RunTime/
      sgd_phase_steps_per_sec: Learner sampling the trainer's replay, fed from Reverb)
      ÷ SacAgent.train on in-memory batches of the same shapes          -> target ≥ 0.8

The system runs the default example with N=1 worker, so that the worker is the only
program collecting; medians over the iterations after the warm-up.
"""
import numpy as np

from bench import common
from tfagents_system import iteration_timing

NUM_WORKERS = 1


def main():
  args = common.parse_args(__doc__)
  num_iter = 10 if args.quick else 30
  worker_cpus = common.planned_cpus('sac_collect_0', NUM_WORKERS)
  trainer_cpus = common.planned_cpus('sac_train', NUM_WORKERS)
  bare_collect = common.run_pinned_child(
      'bench.bare_loops', ['collect', '--episodes', '10' if args.quick else '40'], worker_cpus)
  bare_sgd = common.run_pinned_child(
      'bench.bare_loops', ['sgd', '--steps', '300' if args.quick else '1000'], trainer_cpus)
  with common.SystemRun('efficiency', workers=NUM_WORKERS, num_iter=num_iter) as run:
    run.wait_until_done()
    summaries = run.train_summaries()

  write_efficiency(args.out, 'collector_efficiency', 'Collector efficiency', 'env steps/s',
                   ('bare loop: env + collect policy', bare_collect[0]['env_steps_per_sec']),
                   ('worker in the system', summaries[
                       iteration_timing.WORKER_COLLECT_ENV_STEPS_PER_SEC]), worker_cpus, 0.8)
  write_efficiency(args.out, 'trainer_efficiency', 'Trainer efficiency', 'SGD steps/s',
                   ('bare SacAgent.train on in-memory batches', bare_sgd[0]['sgd_steps_per_sec']),
                   ('trainer in the system, sampling its replay',
                    summaries[iteration_timing.SGD_PHASE_STEPS_PER_SEC]), trainer_cpus, 0.8)


def write_efficiency(out_dir, name, title, unit, bare, in_system, cpus, target):
  """The table of one efficiency: (label, rate) of the bare loop, (label, per-iteration
  rates) of the program in the system, and their ratio."""
  (bare_label, bare_rate), (system_label, system_rates) = bare, in_system
  system_rates = common.after_warmup(system_rates)
  ratio = float(np.median(system_rates)) / bare_rate
  common.write_result(
      out_dir, name, f'{title} ({unit})', ['measurement', 'CPUs', unit, 'ratio', 'target'],
      [[bare_label, cpus, f'{bare_rate:.0f}', '', ''],
       [f'{system_label} (median [min, max] of {len(system_rates)} iterations)', cpus,
        common.spread(system_rates, '{:.0f}'), f'{ratio:.2f}', common.verdict(ratio, target)]],
      common.draw_ratios([f'{system_label} ÷ bare'], [ratio], target, 'ratio'))

if __name__ == '__main__':
  main()
