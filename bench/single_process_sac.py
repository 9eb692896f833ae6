"""The single-process SAC baseline of the time-to-target benchmark, built from tf-agents' own
Actor and Learner APIs with the system's hyperparameters (the same params file and config),
the same curriculum and an in-process Reverb table like the system's.

An iteration, as in the system: N_WORKERS × n_train_episodes_per_iter collect episodes, then
num_steps_per_iter SGD steps, and on eval iterations n_eval_episodes greedy episodes. Prints
one JSON line per evaluation; stops at --target_return or after num_iter iterations.

--system_order runs an iteration in the order the system's programs do, one after the other:
collect with the policy of the iteration before and evaluate it, SGD on the experience of the
iterations before, and only then the new experience goes into the replay (the system's workers
collect while the trainer trains, so neither sees the other's work of that iteration).

  python -m bench.single_process_sac [--params P] --config C --seed S --workers N --target_return R
      --root_dir D
"""
import argparse
import json
import time

from tfagents_system.common import program_setup

program_setup.size_thread_pools_to_cpus()  # all the machine's CPUs, before TensorFlow starts

# pylint: disable=g-import-not-at-top,wrong-import-position
from tf_agents.policies import greedy_policy
from tf_agents.policies import py_tf_eager_policy
from tf_agents.policies import random_py_policy
from tf_agents.train import actor
from tf_agents.train import learner
from tf_agents.train.utils import spec_utils

from bench import common
from bench.in_process_replay import InProcessReplay
from tfagents_system.common import params_loading
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.curriculum import CurriculumCursor
from tfagents_system import workers
from tfagents_system.protocol import iteration_sync
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.train_params_base import EVAL_ENV
# pylint: enable=g-import-not-at-top,wrong-import-position


def episodes_actor(env, policy, train_step, episodes, observers=()):
  """An Actor running `episodes` whole episodes per run, with tf-agents' metrics."""
  return actor.Actor(env, policy, train_step, episodes_per_run=episodes,
                     observers=list(observers), metrics=actor.collect_metrics(episodes))


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--params', default=common.BENCH_PARAMS)
  parser.add_argument('--config', required=True)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--workers', type=int, required=True,
                      help='collect episodes per iteration are those of this many workers')
  parser.add_argument('--target_return', type=float, default=float('inf'))
  parser.add_argument('--root_dir', required=True, help="the Learner's dir")
  parser.add_argument('--system_order', action='store_true')
  args = parser.parse_args()
  params = params_loading.load_train_params(args.params, args.config)

  collect_seed, eval_seed = workers.env_seeds(args.seed, 0)
  collect_env = params.create_env(COLLECT_ENV, collect_seed)
  eval_env = params.create_env(EVAL_ENV, eval_seed)
  _, action_spec, time_step_spec = spec_utils.get_tensor_specs(collect_env)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)

  replay = InProcessReplay(params, agent)
  observer = replay.observer

  init_actor = episodes_actor(
      collect_env, random_py_policy.RandomPyPolicy(collect_env.time_step_spec(),
                                                   collect_env.action_spec()),
      train_step, params.n_buffer_init_episodes, [observer])
  held_back = []  # --system_order: the iteration's trajectories, written after its SGD
  collect_actor = episodes_actor(
      collect_env, py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy, use_tf_function=True),
      train_step, args.workers * params.n_train_episodes_per_iter,
      [held_back.append if args.system_order else observer])
  eval_actor = episodes_actor(
      eval_env, py_tf_eager_policy.PyTFEagerPolicy(greedy_policy.GreedyPolicy(agent.policy),
                                                   use_tf_function=True),
      train_step, params.n_eval_episodes)
  sac_learner = learner.Learner(args.root_dir, train_step, agent, checkpoint_interval=-1,
                                summary_interval=0)
  iterator = iter(replay.tf_agents_dataset())
  curriculum = CurriculumCursor(Curriculum.from_env_config(params.env_config))

  def apply_curriculum(iteration):
    for name, value in curriculum.updates_due(iteration):
      for env in (collect_env, eval_env):
        env.set_state({name: value})

  apply_curriculum(0)  # the system's workers collect the initial experience with these too
  init_actor.run()
  observer.flush()
  collect_actor.reset()  # its first time step went stale while the init actor ran
  env_steps = init_actor.metrics[1].result()
  def evaluate(iteration):
    """Whether the target is reached, by the policy as it is now."""
    eval_actor.run()
    eval_return = float(eval_actor.metrics[2].result())
    print(json.dumps({'time': time.time(), 'iteration': iteration,
                      'env_steps': int(env_steps + collect_actor.metrics[1].result()),
                      'eval_return': eval_return}), flush=True)
    return eval_return >= args.target_return

  for iteration in range(params.num_iter):
    apply_curriculum(iteration)
    collect_actor.run()
    observer.flush()
    evaluating = iteration_sync.is_eval_iteration(iteration, params.eval_period_itrs, params.num_iter)
    if args.system_order and evaluating and evaluate(iteration):
      break
    sac_learner.run(iterations=params.num_steps_per_iter, iterator=iterator)
    for trajectory in held_back:
      observer(trajectory)
    held_back.clear()
    observer.flush()
    if not args.system_order and evaluating and evaluate(iteration):
      break
  replay.stop()


if __name__ == '__main__':
  main()
