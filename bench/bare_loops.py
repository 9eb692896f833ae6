"""The bare single-process loops the programs are measured against, run in a child process
pinned to the program's CPUs (bench/common.run_pinned_child); prints its result as JSON.

  python -m bench.bare_loops collect --config C --episodes E   # env + collect policy only
  python -m bench.bare_loops sgd --config C --steps S          # SacAgent.train on in-memory batches
  python -m bench.bare_loops sample --config C --steps S --dataset system|tf_agents [--server_cpus L]
      # Reverb sampling alone, from a server filled with random-policy episodes
"""
import argparse
import json
import os
import subprocess
import sys
import time

from tfagents_system import program_setup

program_setup.size_thread_pools_to_cpus()  # as the programs do, before TensorFlow starts

# pylint: disable=g-import-not-at-top,wrong-import-position
import portpicker
import tensorflow as tf
from tf_agents.policies import py_tf_eager_policy
from tf_agents.policies import random_py_policy
from tf_agents.train import actor
from tf_agents.specs import tensor_spec
from tf_agents.train.utils import spec_utils
from tf_agents.utils import common

from bench import common as bench_common
from bench.in_process_replay import InProcessReplay
from tfagents_system import params_loading
# pylint: enable=g-import-not-at-top,wrong-import-position

WARMUP_EPISODES = 2
WARMUP_STEPS = 20
IN_MEMORY_BATCHES = 8


def collect_env_steps_per_sec(params, episodes: int) -> float:
  """The worker's collect env and collect policy network, stepped by a plain Python loop."""
  args, kwargs = params.collect_env_args_kwargs()
  env = params.env_ctor(*args, seed=0, **kwargs)
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
  """SacAgent.train (in a tf.function, as the Learner calls it) on batches already in memory,
  of the shapes the trainer samples from Reverb."""
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, _ = program_setup.create_agent(params, time_step_spec, action_spec)
  shape = (params.train_batch_size, params.train_sequence_length)
  # Random values of the specs; the reward's spec is unbounded, so it gets a plausible range.
  batches = [tensor_spec.sample_spec_nest(agent.collect_data_spec, outer_dims=shape)._replace(
      reward=tf.random.uniform(shape, -3.0, 0.0)) for _ in range(IN_MEMORY_BATCHES)]
  train = common.function(agent.train)
  for i in range(WARMUP_STEPS):
    train(batches[i % IN_MEMORY_BATCHES])
  start = time.perf_counter()
  for i in range(steps):
    loss = train(batches[i % IN_MEMORY_BATCHES]).loss
  float(loss)  # waits for the last step
  return steps / (time.perf_counter() - start)


def sample_batches_per_sec(params, steps: int, dataset: str, server_cpus) -> float:
  """Batches/s of the trainer's experience dataset alone (no SGD), or of tf-agents'
  ReverbReplayBuffer.as_dataset, from a server with the system's tables: in this process
  (read directly), or, on `server_cpus`, in another one (through gRPC, as in the system)."""
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  server, address = None, None
  if server_cpus:
    port = portpicker.pick_unused_port()
    server = subprocess.Popen(
        [sys.executable, '-m', 'bench.in_process_replay', f'--port={port}'],
        stderr=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, server_cpus))
    address = f'localhost:{port}'
  try:
    return _sample_batches_per_sec(InProcessReplay(params, agent, train_step, address),
                                   params, train_step, steps, dataset)
  finally:
    if server:
      server.terminate()
      server.wait()


def _sample_batches_per_sec(replay, params, train_step, steps, dataset):
  env = params.env_ctor(*params.collect_env_args_kwargs()[0], seed=0,
                        **params.collect_env_args_kwargs()[1])
  actor.Actor(env, random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec()),
              train_step, episodes_per_run=params.n_buffer_init_episodes,
              observers=[replay.observer]).run()
  replay.observer.flush()
  batches = replay.system_dataset() if dataset == 'system' else replay.tf_agents_dataset()
  iterator = iter(batches)
  for _ in range(WARMUP_STEPS):
    next(iterator)
  start = time.perf_counter()
  for _ in range(steps):
    next(iterator)
  return steps / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('loop', choices=('collect', 'sgd', 'sample'))
  parser.add_argument('--dataset', choices=('system', 'tf_agents'), default='system')
  parser.add_argument('--server_cpus', default='',
                      help='sample from a server in another process, pinned to these CPUs')
  parser.add_argument('--config', default=bench_common.DEFAULT_CONFIG)
  parser.add_argument('--episodes', type=int, default=40)
  parser.add_argument('--steps', type=int, default=500)
  args = parser.parse_args()
  params = params_loading.load_train_params(bench_common.BENCH_PARAMS, args.config)
  tf.get_logger().setLevel('ERROR')
  if args.loop == 'collect':
    result = {'env_steps_per_sec': collect_env_steps_per_sec(params, args.episodes)}
  elif args.loop == 'sgd':
    result = {'sgd_steps_per_sec': sgd_steps_per_sec(params, args.steps)}
  else:
    server_cpus = [int(cpu) for cpu in args.server_cpus.split(',') if cpu]
    result = {'batches_per_sec': sample_batches_per_sec(params, args.steps, args.dataset,
                                                        server_cpus)}
  print(json.dumps(result), flush=True)


if __name__ == '__main__':
  main()
