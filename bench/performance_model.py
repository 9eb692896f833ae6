"""The performance model: from the measured per-component costs (bench/component_costs.py), the
iteration wall time, env steps/s and SGD steps/s of a run with N workers on C CPUs, and which
program sets its pace; checked against real runs of the default example with N = 1, 2 on this
machine (also the worker-scaling measurement: aggregate env steps/s ÷ N × one worker's).

The model. In an iteration the trainer publishes the policy, reads the feed and takes its SGD
steps while each worker pulls the policy, collects its episodes (writing each as one item) and,
every eval_period_itrs iterations, evaluates its share; the replay server takes the items in.
Each program's work in CPU milliseconds per iteration:

  worker  = e·L·(env_step + collect_policy_call) + e·episode_write + policy_pull
            [+ (n_eval·L / N)·(env_step + greedy_policy_call / E) in an evaluation iteration]
  trainer = S·sgd_step + feed_call + N·e·feed_episode + policy_publish
  server  = N·e·server_episode

(e episodes of L steps per worker, S SGD steps, per iteration; a worker evaluates E =
n_eval_envs_per_worker episodes at a time, up to its share, one greedy policy call per step for
all of them, which costs about one call of a batch of one for small batches). Programs pinned to the same
CPUs (the launcher's CPU plan, tfagents_system/launcher/cpu_plan.py) divide them: a group's time is its
programs' work ÷ its CPUs, and no program goes faster than its own work on one CPU. The
iteration lasts the slowest of those plus two hand-offs (a worker woken by the publication's
notice, the trainer by the last report: reads that wait, no polls), and that program is the
bottleneck; the mean iteration averages one evaluation iteration and eval_period_itrs - 1 plain
ones.

  python -m bench.performance_model [--quick]
"""
import collections
import concurrent.futures
import dataclasses
import math
import os
from typing import Dict, Sequence

import numpy as np

from bench import common
from bench import shared_runs
from tfagents_system.common import experiment_dir
from tfagents_system.common import summary_tags
from tfagents_system.launcher import cpu_plan

HANDOFF_LATENCY_MS = 2 * 1.0  # a waiting read woken by a write over loopback: ~1 ms each
NODE_CPUS = 32
# Up to the most a node's CPUs take by the SLURM CPU formula (slurm_job.cpus_to_request).
NODE_WORKERS = (1, 2, 4, 8, 16, 28)
CHECKED_WORKERS = (1, 2)
MINITAUR_COST_CONFIG = {'n_episodes_in_buffer': 64}  # the capacity does not change the costs


@dataclasses.dataclass(frozen=True)
class Workload:
  """What one iteration asks of the programs, from TrainParams."""
  episode_length: int
  episodes_per_worker: int
  sgd_steps: int
  eval_episodes: int
  eval_envs_per_worker: int
  eval_period: int

  @classmethod
  def of(cls, params) -> 'Workload':
    return cls(params.episode_length, params.n_train_episodes_per_iter, params.num_steps_per_iter,
               params.n_eval_episodes, params.n_eval_envs_per_worker, params.eval_period_itrs)


def program_work_ms(costs: Dict[str, float], work: Workload, workers: int,
                    evaluating: bool) -> Dict[str, float]:
  """CPU milliseconds of each program in an iteration, with or without evaluation."""
  e, length = work.episodes_per_worker, work.episode_length
  eval_steps = work.eval_episodes * length / workers if evaluating else 0
  in_lockstep = max(1, min(work.eval_envs_per_worker, math.ceil(work.eval_episodes / workers)))
  worker = (e * length * (costs['env_step'] + costs['collect_policy_call'])
            + e * costs['episode_write'] + costs['policy_pull']
            + eval_steps * (costs['env_step'] + costs['greedy_policy_call'] / in_lockstep))
  work_ms = {experiment_dir.REPLAY_PROGRAM: workers * e * costs['server_episode'],
             experiment_dir.TRAIN_PROGRAM: (work.sgd_steps * costs['sgd_step'] + costs['feed_call']
                                            + workers * e * costs['feed_episode']
                                            + costs['policy_publish'])}
  work_ms.update({experiment_dir.collect_program(i): worker for i in range(workers)})
  return work_ms


@dataclasses.dataclass(frozen=True)
class Prediction:
  iteration_ms: float  # the mean over an evaluation period
  env_steps_per_sec: float
  sgd_steps_per_sec: float
  bottleneck: str  # the program, or the CPUs programs share, that sets the pace most often


def iteration_pace(work_ms: Dict[str, float], plan: cpu_plan.CpuPlan) -> Dict[str, float]:
  """How long each program, and each group of programs sharing CPUs, needs for an iteration."""
  groups = collections.defaultdict(list)
  for program, program_cpus in plan.assignments.items():
    groups[tuple(program_cpus)].append(program)
  paces = dict(work_ms)
  for group_cpus, programs in groups.items():
    if len(programs) > 1:
      label = (f'CPU{"s" if len(group_cpus) > 1 else ""} '
               f'{cpu_plan.format_cpu_list(group_cpus)} shared by {", ".join(programs)}')
      paces[label] = sum(work_ms[p] for p in programs) / len(group_cpus)
  return paces


def predict(costs: Dict[str, float], work: Workload, workers: int,
            cpus: Sequence[int]) -> Prediction:
  """The iteration of a run with `workers` workers pinned as the launcher plans on `cpus`
  (1 CPU for the replay server, the trainer and each worker)."""
  plan = cpu_plan.plan_run(cpus, 1, 1, 1, range(workers))
  plain = iteration_pace(program_work_ms(costs, work, workers, evaluating=False), plan)
  evaluating = iteration_pace(program_work_ms(costs, work, workers, evaluating=True), plan)
  bottleneck = max(plain, key=plain.get)
  iteration_ms = HANDOFF_LATENCY_MS + ((work.eval_period - 1) * plain[bottleneck]
                                    + max(evaluating.values())) / work.eval_period
  env_steps = workers * work.episodes_per_worker * work.episode_length
  return Prediction(iteration_ms, 1000 * env_steps / iteration_ms,
                    1000 * work.sgd_steps / iteration_ms, bottleneck)


def measure_costs(params_file: str, config_file: str, quick: bool) -> Dict[str, float]:
  """Measured pinned to the CPU the trainer gets, the replay server on the others."""
  available = sorted(os.sched_getaffinity(0))
  own = available[-1:]
  server = available[:-1] or own
  return common.run_pinned_child(
      'bench.component_costs', ['--params', params_file, '--config', config_file,
                                '--server_cpus', *map(str, server)] + (['--quick'] if quick else []),
      own)[-1]


def bare_rates_alone_and_together(quick: bool) -> Dict[str, float]:
  """The bare SGD loop on the trainer's CPU and the bare collect loop on each other CPU, first
  each alone, then all at once: whether a CPU's neighbours slow it (vCPUs that share a
  physical core, caches, memory bandwidth) though every program has a CPU of its own."""
  available = sorted(os.sched_getaffinity(0))
  trainer_cpu, others = tuple(available[-1:]), available[:-1]
  rates = {'sgd_alone': shared_runs.bare_rate('sgd', trainer_cpu, quick)}
  if not others:
    return rates
  rates['collect_alone'] = shared_runs.bare_rate('collect', tuple(others[:1]), quick)
  sgd_args = ['sgd', '--steps', '600' if quick else '2000']
  # Long enough to cover the SGD loop's start-up and measurement when started together.
  collect_args = ['collect', '--episodes', '150' if quick else '400']
  with concurrent.futures.ThreadPoolExecutor(len(available)) as pool:
    collects = [pool.submit(common.run_pinned_child, 'bench.bare_loops', collect_args, [cpu])
                for cpu in others]
    sgd = pool.submit(common.run_pinned_child, 'bench.bare_loops', sgd_args, trainer_cpu)
    rates['sgd_together'] = sgd.result()[0]['sgd_steps_per_sec']
    rates['collect_together'] = float(np.mean(
        [future.result()[0]['env_steps_per_sec'] for future in collects]))
  return rates


def measured_run(workers: int, quick: bool) -> Dict[str, float]:
  """Medians over a run of the default example after its warm-up iterations: its iteration and
  trainer phases (ms), and the aggregate collect env steps/s. Medians: the model has no
  checkpoints, and the iterations that write one (the first also exports the policy
  SavedModels, seconds) would set the mean of a run this short."""
  summaries = shared_runs.default_example_run(workers, quick).summaries
  measured = {name: 1000 * float(np.median(common.after_warmup(summaries[tag]))) for name, tag in (
      ('iteration', summary_tags.ITERATION_SECONDS),
      ('sgd', summary_tags.SGD_SECONDS),
      ('bookkeeping', summary_tags.BOOKKEEPING_SECONDS),
      ('barrier_wait', summary_tags.BARRIER_WAIT_SECONDS))}
  measured['aggregate'] = float(np.median(common.after_warmup(
      summaries[summary_tags.COLLECT_PHASE_ENV_STEPS_PER_SEC])))
  return measured


def load_params(params_file: str, config_file: str):
  from tfagents_system.common import params_loading  # pylint: disable=g-import-not-at-top
  return params_loading.load_train_params(params_file, config_file)


def main(args):
  files = {'point-mass': (common.BENCH_PARAMS, common.DEFAULT_CONFIG),
           'Minitaur': (common.MINITAUR_PARAMS, common.write_config(
               common.MINITAUR_CONFIG, params=MINITAUR_COST_CONFIG))}
  examples = {name: files[name] for name in common.examples(args.quick)}
  costs = {name: measure_costs(*files, args.quick) for name, files in examples.items()}
  works = {name: Workload.of(load_params(*files)) for name, files in examples.items()}

  cost_rows = [[component, *(f'{costs[name][component]:.3f}' for name in examples)]
               for component in costs['point-mass']]
  common.write_result(args.out, 'component_costs', 'Per-component costs (ms, one CPU each)',
                      ['component', *examples], cost_rows, draw_costs(costs),
                      notes='bench/component_costs.py; the replay server on another CPU.')

  rates = bare_rates_alone_and_together(args.quick)
  interference = [[loop, f'{rates[loop + "_alone"]:.0f}', f'{rates[loop + "_together"]:.0f}',
                   f'{rates[loop + "_together"] / rates[loop + "_alone"]:.2f}']
                  for loop in ('sgd', 'collect') if loop + '_together' in rates]
  common.write_result(
      args.out, 'cpu_interference', 'Bare loops alone and side by side (one CPU each)',
      ['bare loop (steps/s)', 'alone', 'side by side', 'side by side ÷ alone'], interference,
      common.draw_ratios([row[0] for row in interference],
                         [float(row[3]) for row in interference], 1.0, 'side by side ÷ alone'),
      notes='bench/bare_loops.py: SGD on the last CPU, a collect loop on each of the others.')

  here = sorted(os.sched_getaffinity(0))
  checked = []
  one_worker_rate = None
  for workers in CHECKED_WORKERS:
    measured = measured_run(workers, args.quick)
    one_worker_rate = one_worker_rate or measured['aggregate']
    predicted = predict(costs['point-mass'], works['point-mass'], workers, here)
    trainer_ms = program_work_ms(costs['point-mass'], works['point-mass'], workers,
                                 evaluating=False)[experiment_dir.TRAIN_PROGRAM]
    checked.append([workers, f'{predicted.iteration_ms:.0f}', f'{measured["iteration"]:.0f}',
                    f'{measured["iteration"] / predicted.iteration_ms:.2f}',
                    predicted.bottleneck, f'{trainer_ms:.0f}', f'{measured["sgd"]:.0f}',
                    f'{measured["bookkeeping"]:.0f}', f'{measured["barrier_wait"]:.0f}',
                    f'{measured["aggregate"]:.0f}',
                    f'{measured["aggregate"] / (workers * one_worker_rate):.2f}'])
  common.write_result(
      args.out, 'performance_model_check',
      f'Model against the default example on this machine ({len(here)} CPUs)',
      ['workers N', 'predicted iteration ms', 'measured ms (median)', 'measured ÷ predicted',
       'predicted bottleneck', 'trainer work, predicted ms', 'trainer SGD phase, measured ms',
       'trainer bookkeeping, measured ms', 'trainer barrier wait, measured ms',
       'aggregate collect env steps/s (median)', 'scaling: ÷ (N × N=1)'],
      checked, draw_check(checked))

  rows = []
  for name in examples:
    for workers in NODE_WORKERS:
      p = predict(costs[name], works[name], workers, list(range(NODE_CPUS)))
      rows.append([name, workers, f'{p.iteration_ms:.0f}', f'{p.env_steps_per_sec:.0f}',
                   f'{p.sgd_steps_per_sec:.0f}', p.bottleneck])
  common.write_result(
      args.out, 'performance_model', f'Predicted on a {NODE_CPUS}-CPU node (1 CPU each)',
      ['example', 'workers N', 'iteration ms', 'env steps/s', 'SGD steps/s', 'bottleneck'], rows,
      draw_node(rows), notes='The examples\' TrainParams; costs from this machine\'s CPUs.')


def draw_costs(costs):
  def draw(axes):
    names = list(costs)
    components = list(costs[names[0]])
    for i, name in enumerate(names):
      axes.barh(np.arange(len(components)) + 0.4 * i, [costs[name][c] for c in components],
                height=0.4, label=name)
    axes.set_yticks(np.arange(len(components)) + 0.2, components, fontsize=7)
    axes.set_xscale('log')
    axes.set_xlabel('ms')
    axes.legend()
  return draw


def draw_check(rows):
  def draw(axes):
    x = np.arange(len(rows))
    axes.bar(x - 0.2, [float(r[1]) for r in rows], width=0.4, label='predicted')
    axes.bar(x + 0.2, [float(r[2]) for r in rows], width=0.4, label='measured')
    axes.set_xticks(x, [f'N={r[0]}' for r in rows])
    axes.set_ylabel('iteration ms')
    axes.legend()
  return draw


def draw_node(rows):
  def draw(axes):
    for name in dict.fromkeys(r[0] for r in rows):
      mine = [r for r in rows if r[0] == name]
      axes.plot([r[1] for r in mine], [float(r[3]) for r in mine], marker='o', label=name)
    axes.set_xscale('log', base=2)
    axes.set_yscale('log')
    axes.set_xlabel('workers N')
    axes.set_ylabel('predicted env steps/s')
    axes.legend()
  return draw


if __name__ == '__main__':
  main(common.parse_args(__doc__))
