"""Benchmark 7: Minitaur (256×256 networks), a fixed budget of env and SGD steps: wall time of
the system (run_script.sh, N=2) ÷ single-process tf-agents SAC (bench/single_process_sac.py),
same params, config and seed, both on the whole machine.   -> target ≤ 0.6 (the limit with
collection and training fully overlapped on 2 CPUs is 0.5)

The budget: NUM_ITER iterations of 2 episodes of EPISODE_STEPS steps (one per worker) and
SGD_STEPS_PER_ITER SGD steps (one SGD step per env step, SAC's usual ratio), after the
random-policy episodes; evaluation only at the first and last iteration. Reported from the
command's start (start-up included) and as the pace once training runs (seconds per
iteration between the first and the last evaluation).
"""
import os
import shutil

from bench import common
from bench import time_to_target

WORKERS = 2
EPISODE_STEPS = 200
SGD_STEPS_PER_ITER = WORKERS * EPISODE_STEPS
NUM_ITER = {True: 3, False: 16}
NO_TARGET = float('inf')  # the whole budget


def main(args):
  num_iter = NUM_ITER[args.quick]
  changes = dict(episode_length=EPISODE_STEPS, num_iter=num_iter, params=dict(
      # One episode per worker: the example's own collects at least 500 env steps each.
      num_steps_per_iter=SGD_STEPS_PER_ITER, min_train_env_steps_per_iter=0,
      n_episodes_in_buffer=200,
      n_buffer_init_episodes=2, n_eval_episodes=2, eval_period_itrs=num_iter))
  config_path = common.write_config(common.MINITAUR_CONFIG, **changes)
  try:
    runs = {
        'system': time_to_target.system_run(
            WORKERS, 0, NO_TARGET, params_file=common.MINITAUR_PARAMS,
            config_file=common.MINITAUR_CONFIG, **changes),
        'single process': time_to_target.single_process_run(
            WORKERS, 0, config_path, common.MINITAUR_PARAMS, NO_TARGET),
    }
  finally:
    shutil.rmtree(os.path.dirname(config_path))
  totals = {name: evaluations[-1][0] for name, evaluations in runs.items()}
  paces = {name: time_to_target.seconds_per_iteration(evaluations)
           for name, evaluations in runs.items()}
  rows = [[name, f'{evaluations[-1][1]:,}', f'{totals[name]:.1f}', f'{paces[name]:.2f}']
          for name, evaluations in runs.items()]
  total_ratio = totals['system'] / totals['single process']
  pace_ratio = paces['system'] / paces['single process']
  rows.append(['system ÷ single process', '', f'**{total_ratio:.2f}**', f'{pace_ratio:.2f}'])
  notes = (f'{num_iter} iterations of {WORKERS} × {EPISODE_STEPS} env steps and '
           f'{SGD_STEPS_PER_ITER} SGD steps. Wall time, system ÷ single process: '
           f'{total_ratio:.2f} from the command ({common.verdict(total_ratio, 0.6, False)}), '
           f'{pace_ratio:.2f} per iteration once training runs.')
  common.write_result(
      args.out, 'minitaur_budget', 'Minitaur, a fixed budget: system (N=2) vs single process',
      ['run', 'env steps', 'wall seconds from the command', 'seconds per iteration'], rows,
      common.draw_ratios(['from the command', 'per iteration'], [total_ratio, pace_ratio], 0.6,
                         'system ÷ single process'), notes)


if __name__ == '__main__':
  main(common.parse_args(__doc__))
