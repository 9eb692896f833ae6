"""The bare single-process loops the programs are measured against, run in a child process
pinned to the program's CPUs (bench/common.run_pinned_child); prints its result as JSON.

  python -m bench.bare_loops collect [--params P] --config C --episodes E  # env + collect policy
  python -m bench.bare_loops sgd [--params P] --config C --steps S  # SacAgent.train, in-memory batches
"""
import argparse
import json
import time

from tfagents_system.common import program_setup

program_setup.size_thread_pools_to_cpus()  # as the programs do, before TensorFlow starts

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf
from tf_agents.policies import py_tf_eager_policy
from tf_agents.specs import tensor_spec
from tf_agents.train.utils import spec_utils
from tf_agents.utils import common

from bench import common as bench_common
from tfagents_system.common import params_loading
from tfagents_system.train_params_base import COLLECT_ENV
# pylint: enable=g-import-not-at-top,wrong-import-position

WARMUP_EPISODES = 2
WARMUP_STEPS = 20
IN_MEMORY_BATCHES = 8


def collect_env_steps_per_sec(params, episodes: int) -> float:
  """The worker's collect env and collect policy network, stepped by a plain Python loop."""
  env = params.create_env(COLLECT_ENV, seed=0)
  _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
  agent, _ = program_setup.create_agent(params, time_step_spec, action_spec)
  policy = py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy, use_tf_function=True)

  def run(n):
    steps = 0
    for _ in range(n):
      time_step = env.reset()
      while not time_step.is_last():
        time_step = env.step(policy.action(time_step).action)
        steps += 1
    return steps

  run(WARMUP_EPISODES)  # traces the policy
  start = time.perf_counter()
  steps = run(episodes)
  return steps / (time.perf_counter() - start)


def sgd_steps_per_sec(params, steps: int) -> float:
  """SacAgent.train on batches already in memory, of the shapes the trainer samples, in a
  loop inside one tf.function as Learner.run runs its steps."""
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, _ = program_setup.create_agent(params, time_step_spec, action_spec)
  shape = (params.train_batch_size, params.train_sequence_length)
  # Random values of the specs; unbounded ones (the reward, Minitaur's observations) get a
  # plausible range.
  observation_shape = shape + tuple(agent.collect_data_spec.observation.shape)
  batches = [tensor_spec.sample_spec_nest(agent.collect_data_spec, outer_dims=shape)._replace(
      reward=tf.random.uniform(shape, -3.0, 0.0),
      observation=tf.random.uniform(observation_shape, -1.0, 1.0))
             for _ in range(IN_MEMORY_BATCHES)]
  stacked = tf.nest.map_structure(lambda *values: tf.stack(values), *batches)

  @common.function(autograph=True)
  def train(count):
    loss = tf.constant(0.0)
    for i in tf.range(count):
      loss = agent.train(tf.nest.map_structure(lambda v: v[i % IN_MEMORY_BATCHES], stacked)).loss
    return loss

  float(train(tf.constant(WARMUP_STEPS)))
  start = time.perf_counter()
  float(train(tf.constant(steps)))  # waits for the last step
  return steps / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('loop', choices=('collect', 'sgd'))
  parser.add_argument('--params', default=bench_common.BENCH_PARAMS)
  parser.add_argument('--config', default=bench_common.DEFAULT_CONFIG)
  parser.add_argument('--episodes', type=int, default=40)
  parser.add_argument('--steps', type=int, default=500)
  args = parser.parse_args()
  params = params_loading.load_train_params(args.params, args.config)
  tf.get_logger().setLevel('ERROR')
  if args.loop == 'collect':
    result = {'env_steps_per_sec': collect_env_steps_per_sec(params, args.episodes)}
  else:
    result = {'sgd_steps_per_sec': sgd_steps_per_sec(params, args.steps)}
  print(json.dumps(result), flush=True)


if __name__ == '__main__':
  main()
