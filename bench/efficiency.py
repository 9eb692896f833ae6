"""Benchmarks 1 to 3: one collect worker's and the trainer's speed inside a running system,
each against a bare single-process loop pinned to the same CPU with the same thread pools.

  collector efficiency = a worker's env steps/s while collecting (RunTime/
      worker_collect_env_steps_per_sec: its EpisodeRunner writing episodes into Reverb, flush
      included)
      ÷ a plain Python loop of the same env and collect policy network   -> target ≥ 0.8
      the same on Minitaur (not in --quick; 256×256 networks, 200-step episodes, few SGD
      steps so that the iterations are the worker's)                       -> target ≥ 0.95
  trainer efficiency = the trainer's SGD steps/s during its SGD phase (RunTime/
      sgd_phase_steps_per_sec: Learner sampling the trainer's replay, fed from Reverb)
      ÷ SacAgent.train on in-memory batches of the same shapes          -> target ≥ 0.8

The system runs the default example with N=1 worker, so that the worker is the only
program collecting; medians over the iterations after the warm-up.
"""
import numpy as np

from bench import common
from bench import shared_runs
from tfagents_system.common import experiment_dir
from tfagents_system.common import summary_tags

NUM_WORKERS = 1
MINITAUR_EPISODE_STEPS = 200
# Each bare run builds its own untrained network, whose robot falls when and as it does: a
# Minitaur step's cost moves with that (one run of 10 episodes made 173-271 env steps/s over six
# runs of the same code), so the baseline is the median of a few.
MINITAUR_BARE_RUNS = 3


def main(args):
  worker_cpus = shared_runs.cpus_of([experiment_dir.collect_program(0)], NUM_WORKERS)
  trainer_cpus = shared_runs.cpus_of([experiment_dir.TRAIN_PROGRAM], NUM_WORKERS)
  bare_collect = shared_runs.bare_rate('collect', worker_cpus, args.quick)
  bare_sgd = shared_runs.bare_rate('sgd', trainer_cpus, args.quick)
  summaries = shared_runs.default_example_run(NUM_WORKERS, args.quick).summaries

  write_efficiency(args.out, 'collector_efficiency', 'Collector efficiency', 'env steps/s',
                   ('bare loop: env + collect policy', bare_collect),
                   ('worker in the system', summaries[
                       summary_tags.WORKER_COLLECT_ENV_STEPS_PER_SEC]), worker_cpus, 0.8)
  if not args.quick:  # point-mass only in a quick run (bench/__main__.py)
    write_efficiency(args.out, 'minitaur_collector_efficiency',
                     'Collector efficiency, Minitaur', 'env steps/s',
                     *minitaur_collect_rates(worker_cpus), worker_cpus, 0.95)
  write_efficiency(args.out, 'trainer_efficiency', 'Trainer efficiency', 'SGD steps/s',
                   ('bare SacAgent.train on in-memory batches', bare_sgd),
                   ('trainer in the system, sampling its replay',
                    summaries[summary_tags.SGD_PHASE_STEPS_PER_SEC]), trainer_cpus, 0.8)


def minitaur_collect_rates(worker_cpus):
  """(bare loop, in the system) collect rates of a Minitaur worker, the system with N=1."""
  changes = dict(episode_length=MINITAUR_EPISODE_STEPS, params=dict(
      num_steps_per_iter=20, n_episodes_in_buffer=50, n_buffer_init_episodes=1,
      eval_period_itrs=1000))
  config = common.write_config(common.MINITAUR_CONFIG, **changes)
  bare = [common.run_pinned_child(
      'bench.bare_loops', ['collect', '--params', common.MINITAUR_PARAMS, '--config', config,
                           '--episodes', '10'], worker_cpus)[0]['env_steps_per_sec']
          for _ in range(MINITAUR_BARE_RUNS)]
  with common.SystemRun('minitaur_efficiency', workers=NUM_WORKERS,
                        params_file=common.MINITAUR_PARAMS, config_file=common.MINITAUR_CONFIG,
                        num_iter=20, **changes) as run:
    run.wait_until_done()
    summaries = run.train_summaries()
  return ((f'bare loop: Minitaur env + collect policy (median of {MINITAUR_BARE_RUNS} runs)',
           float(np.median(bare))),
          ('worker in the system', summaries[summary_tags.WORKER_COLLECT_ENV_STEPS_PER_SEC]))


def write_efficiency(out_dir, name, title, unit, bare, in_system, cpus, target):
  """The table of one efficiency: (label, rate) of the bare loop, (label, per-iteration
  rates) of the program in the system, and their ratio."""
  (bare_label, bare_rate), (system_label, system_rates) = bare, in_system
  system_rates = common.after_warmup(system_rates)
  ratio = float(np.median(system_rates)) / bare_rate
  common.write_result(
      out_dir, name, f'{title} ({unit})', ['measurement', 'CPUs', unit, 'ratio', 'target'],
      [[bare_label, list(cpus), f'{bare_rate:.0f}', '', ''],
       [f'{system_label} (median [min, max] of {len(system_rates)} iterations)', list(cpus),
        common.spread(system_rates, '{:.0f}'), f'{ratio:.2f}', common.verdict(ratio, target)]],
      common.draw_ratios([f'{system_label} ÷ bare'], [ratio], target, 'ratio'))

if __name__ == '__main__':
  main(common.parse_args(__doc__))
