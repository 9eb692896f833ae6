"""Benchmark 3: the share of an iteration's wall time the iteration barrier costs, with the
per-iteration timing breakdown the trainer writes (tfagents_system/trainer/iteration_timing.py), and
the iteration's wall time against its ideal on this machine.

The default example runs as training_variables.sh sets it (N=2 workers). Sync overhead =
iteration time - max(trainer bookkeeping + SGD, the workers' side: the busiest worker's turn
wait on shared CPUs + collect + eval):
publishing and pulling the policy, reporting, noticing a publication or a report -> target ≤ 3%.
Iteration ÷ ideal: the ideal is the longer of the iteration's SGD steps at the bare SGD rate on
the trainer's CPUs and its env steps (collect, and eval averaged over the eval period) at the
bare collect rate on the workers' CPUs (bench/bare_loops.py, pinned as the programs are)
                                                                       -> target ≤ 1.5
"""
import numpy as np

from bench import common
from bench import shared_runs
from tfagents_system.common import experiment_dir
from tfagents_system.common import params_loading
from tfagents_system.common import summary_tags

# The breakdown, in the order an iteration goes (trainer phases, then the workers' side).
TRAINER_PHASES = [('publish', summary_tags.PUBLISH_SECONDS),
                  ('bookkeeping', summary_tags.BOOKKEEPING_SECONDS),
                  ('SGD', summary_tags.SGD_SECONDS),
                  ('barrier wait', summary_tags.BARRIER_WAIT_SECONDS)]
WORKER_PHASES = [('worker: wait for publication', summary_tags.WORKER_PUBLICATION_WAIT_SECONDS),
                 ('worker: policy pull', summary_tags.WORKER_POLICY_PULL_SECONDS),
                 ('worker: wait for its CPU turn', summary_tags.WORKER_CPU_TURN_WAIT_SECONDS),
                 ('worker: collect', summary_tags.WORKER_COLLECT_SECONDS),
                 ('worker: eval', summary_tags.WORKER_EVAL_SECONDS)]


def main(args):
  workers = int(common.default_variables()['SAC_NUM_COLLECT_WORKERS'])
  worker_cpus = shared_runs.cpus_of(
      [experiment_dir.collect_program(i) for i in range(workers)], workers)
  trainer_cpus = shared_runs.cpus_of([experiment_dir.TRAIN_PROGRAM], workers)
  bare_collect = shared_runs.bare_rate('collect', worker_cpus[:1], args.quick)
  bare_sgd = shared_runs.bare_rate('sgd', trainer_cpus, args.quick)
  summaries = shared_runs.default_example_run(workers, args.quick).summaries
  values = {tag: common.after_warmup(summaries[tag])
            for _, tag in TRAINER_PHASES + WORKER_PHASES + [
                ('iteration', summary_tags.ITERATION_SECONDS), ('overhead', summary_tags.SYNC_OVERHEAD_FRACTION)]}
  iteration = values[summary_tags.ITERATION_SECONDS]
  rows = [[name, f'{1000 * np.mean(values[tag]):.1f}', f'{100 * np.sum(values[tag]) / np.sum(iteration):.1f}%']
          for name, tag in TRAINER_PHASES]
  rows.append(['**iteration (trainer: sum of the above)**', f'{1000 * np.mean(iteration):.1f}', '100%'])
  rows += [[name, f'{1000 * np.mean(values[tag]):.1f}', f'{100 * np.sum(values[tag]) / np.sum(iteration):.1f}%']
           for name, tag in WORKER_PHASES]
  overhead = values[summary_tags.SYNC_OVERHEAD_FRACTION]
  mean_overhead = float(np.sum(overhead * iteration) / np.sum(iteration))
  rows.append(['**sync overhead** (median [min, max] per iteration)',
               f'{1000 * np.mean(overhead * iteration):.1f}',
               f'{100 * mean_overhead:.1f}% ({common.spread(100 * overhead)}%), '
               f'{common.verdict(100 * mean_overhead, 3, at_least=False)}'])

  params = params_loading.load_train_params(common.BENCH_PARAMS, common.DEFAULT_CONFIG)
  env_steps = common.after_warmup(np.diff(summaries[summary_tags.ENV_STEPS])) + (
      params.n_eval_episodes * params.episode_length / params.eval_period_itrs)
  ideal = np.maximum(params.num_steps_per_iter / bare_sgd,
                     env_steps / (bare_collect * len(worker_cpus)))
  ratio = float(np.mean(iteration[-len(ideal):]) / np.mean(ideal))
  # The iterations that checkpoint (the first one also exports the policy SavedModels) weigh on
  # the mean of a short run; the median is the pace of the others.
  median_ratio = float(np.median(iteration[-len(ideal):]) / np.median(ideal))
  rows.append([f'**iteration ÷ its ideal** (SGD at the bare {bare_sgd:.0f} steps/s on CPUs '
               f'{list(trainer_cpus)}; env steps at the bare {bare_collect:.0f}/s on CPUs {list(worker_cpus)})',
               f'{1000 * np.mean(ideal):.1f} ideal',
               f'{ratio:.2f} of the means, {common.verdict(ratio, 1.5, at_least=False)}; '
               f'{median_ratio:.2f} of the medians'])

  def draw(axes):
    bottom = np.zeros(len(iteration))
    x = np.arange(len(iteration)) + common.WARMUP_ITERATIONS
    for name, tag in TRAINER_PHASES:
      axes.bar(x, 1000 * values[tag], bottom=bottom, label=name)
      bottom += 1000 * values[tag]
    axes.plot(x, 1000 * overhead * iteration, 'k.-', label='sync overhead')
    axes.set_xlabel('iteration')
    axes.set_ylabel('ms')
    axes.legend(fontsize=8)

  common.write_result(
      args.out, 'sync_overhead', f'Sync overhead and iteration breakdown (N={workers} workers)',
      ['phase', 'ms per iteration (mean)', 'share of iteration wall time'], rows, draw,
      notes=f'{len(iteration)} iterations after {common.WARMUP_ITERATIONS} warm-up ones; the '
            'workers work while the trainer does SGD, so their phases overlap the trainer\'s.')


if __name__ == '__main__':
  main(common.parse_args(__doc__))
