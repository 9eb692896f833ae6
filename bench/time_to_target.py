"""Benchmark 4: wall time and env steps for the default example to reach a fixed eval return,
the system (run_script.sh, training_variables.sh's N workers) against single-process SAC from
tf-agents' Actor/Learner (bench/single_process_sac.py) with the same params and config, both
on the whole machine, seed by seed, measured from the command's start.

Both evaluate every EVAL_PERIOD_ITRS iterations (the example's 10 is too coarse to time), with
the example's n_eval_episodes greedy episodes. Target: faster in wall time at equal env steps.
Without --quick the single process also runs in the system's iteration order
(single_process_sac.py --system_order): what that order costs in env steps.
"""
import os
import shutil
import tempfile
import time

import numpy as np

from bench import common

TARGET_RETURN = -20.0
EVAL_PERIOD_ITRS = 2
# The single process run in the order of the system's iteration (single_process_sac.py).
SYSTEM_ORDER = 'single process, system order'


def system_run(workers: int, seed: int, target_return: float = TARGET_RETURN, **run_options):
  """[(seconds, env steps, eval return, iteration)] of the system's evaluations, up to the
  target; `run_options` for common.SystemRun (by default the example evaluating every
  EVAL_PERIOD_ITRS)."""
  run_options = run_options or dict(params={'eval_period_itrs': EVAL_PERIOD_ITRS})
  evaluations, seen = [], set()

  def record_evaluation(status):
    if status.get('eval_iteration') is not None and status['eval_iteration'] not in seen:
      seen.add(status['eval_iteration'])
      evaluations.append((status['updated'] - run.started_at, status['env_steps'],
                          status['eval_return'], status['eval_iteration']))
    return status['eval_return'] is not None and status['eval_return'] >= target_return or (
        status.get('done'))

  with common.SystemRun('time_to_target', workers=workers, seed=seed, **run_options) as run:
    run.wait_for(record_evaluation, poll_s=0.1)
  return evaluations


def single_process_run(workers: int, seed: int, config_path: str,
                       params_file: str = common.BENCH_PARAMS,
                       target_return: float = TARGET_RETURN, system_order: bool = False):
  """The same as system_run's, of bench/single_process_sac.py."""
  root_dir = tempfile.mkdtemp(prefix='bench_single_process_sac_')
  start = time.time()
  try:
    results = common.run_pinned_child(
        'bench.single_process_sac', ['--params', params_file, '--config', config_path,
                                     '--seed', str(seed), '--workers', str(workers),
                                     '--root_dir', root_dir, '--target_return', str(target_return)]
        + (['--system_order'] if system_order else []),
        stop_when=lambda result: result['eval_return'] >= target_return)
  finally:
    shutil.rmtree(root_dir, ignore_errors=True)
  return [(r['time'] - start, r['env_steps'], r['eval_return'], r['iteration']) for r in results]


def reached(evaluations):
  """(seconds, env steps) of the first evaluation at the target, or None."""
  return next(((s, steps) for s, steps, ret, _ in evaluations if ret >= TARGET_RETURN), None)


def seconds_per_iteration(evaluations):
  """Wall seconds per iteration between the first and the last evaluation: the pace once
  started, without the start-up."""
  (first_s, _, _, first_iteration), (last_s, _, _, last_iteration) = evaluations[0], evaluations[-1]
  return (last_s - first_s) / max(1, last_iteration - first_iteration)


def main(args):
  seeds = [0] if args.quick else [0, 1, 2]
  workers = int(common.default_variables()['SAC_NUM_COLLECT_WORKERS'])
  config_path = common.write_config(params={'eval_period_itrs': EVAL_PERIOD_ITRS})
  curves = {'system': [], 'single process': []}
  if not args.quick:
    curves[SYSTEM_ORDER] = []
  for seed in seeds:
    curves['system'].append(system_run(workers, seed))
    curves['single process'].append(single_process_run(workers, seed, config_path))
    if SYSTEM_ORDER in curves:
      curves[SYSTEM_ORDER].append(
          single_process_run(workers, seed, config_path, system_order=True))
  shutil.rmtree(os.path.dirname(config_path))

  rows, medians = [], {}
  for name, runs in curves.items():
    hits = [reached(evaluations) for evaluations in runs]
    for seed, evaluations, hit in zip(seeds, runs, hits):
      rows.append([name, seed, f'{hit[0]:.1f}' if hit else 'not reached',
                   f'{hit[1]:,}' if hit else '', f'{evaluations[0][0]:.1f}',
                   f'{seconds_per_iteration(evaluations):.2f}'])
    done = [hit for hit in hits if hit]
    if done:
      medians[name] = np.median(done, axis=0)
      rows.append([f'**{name}**', 'median [min, max]', common.spread([h[0] for h in done]),
                   common.spread([h[1] for h in done], '{:,.0f}'),
                   common.spread([e[0][0] for e in runs]),
                   common.spread([seconds_per_iteration(e) for e in runs], '{:.2f}')])
  notes = ''
  if 'system' in medians and 'single process' in medians:
    speedup = medians['single process'][0] / medians['system'][0]
    steps_ratio = medians['system'][1] / medians['single process'][1]
    notes = (f'Wall-time speed-up of the system (median single process ÷ median system): '
             f'**{speedup:.2f}×** ({"met" if speedup > 1 else "MISSED"}: > 1); env steps to the '
             f'target, system ÷ single process: **{steps_ratio:.2f}** (equal sample efficiency '
             f'is 1).')
    if SYSTEM_ORDER in medians:
      notes += (f' Env steps to the target of the single process in the system\'s order ÷ in '
                f'its own: **{medians[SYSTEM_ORDER][1] / medians["single process"][1]:.2f}**.')

  def draw(axes):
    for (name, runs), color in zip(curves.items(), ('tab:blue', 'tab:orange', 'tab:green')):
      for i, evaluations in enumerate(runs):
        seconds, _, returns, _ = zip(*evaluations)
        axes.plot(seconds, returns, '.-', color=color, label=name if i == 0 else None)
    axes.axhline(TARGET_RETURN, color='tab:red', linestyle='--', label='target')
    axes.set_xlabel('seconds from the command')
    axes.set_ylabel('eval return')
    axes.legend()

  common.write_result(
      args.out, 'time_to_target',
      f'Time to eval return {TARGET_RETURN:g}: system (N={workers}) vs single-process tf-agents SAC',
      ['run', 'seed', 'wall seconds to target', 'env steps to target',
       'seconds to the first eval (iteration 0)', 'seconds per iteration after it'],
      rows, draw, notes)


if __name__ == '__main__':
  main(common.parse_args(__doc__))
