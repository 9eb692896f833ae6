"""The per-component costs of the performance model (bench/performance_model.py), in
milliseconds, measured in this process (pinned to one CPU by the caller) against a replay server
program it starts on `--server_cpus`; prints them as one JSON object:

  python -m bench.component_costs --params P --config C --server_cpus 0 [--quick]

  env_step              the collect env's step, random actions
  collect_policy_call   the collect policy's action for one time step (a worker's step is
                        env_step + collect_policy_call, the bare loop's)
  greedy_policy_call    the same for the greedy policy (evaluation)
  episode_write         a worker writing one episode item into both experience tables
  server_episode        the replay server's CPU time per episode: taking it into both tables
                        and handing it to the trainer's feed reader
  feed_episode          the trainer reading one episode from the feed into its replay
  feed_call             the trainer's fixed cost of a feed read (TrainerSync.feed), whatever
                        it holds: a read of one episode less feed_episode
  sgd_step              SacAgent.train as the trainer's Learner runs it (bench/bare_loops.py)
  policy_publish        the trainer pushing the policy variables (ReverbVariableContainer.push)
  policy_pull           a worker pulling them (ReverbVariableContainer.update)
"""
import argparse
import json
import time

from tfagents_system.common import program_setup

program_setup.size_thread_pools_to_cpus()  # as the programs do, before TensorFlow starts

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf
from tf_agents.experimental.distributed import reverb_variable_container
from tf_agents.policies import py_tf_eager_policy
from tf_agents.specs import array_spec

from bench import bare_loops
from bench import common
from tfagents_system.common import params_loading
from tfagents_system.protocol import episode_items
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol import trainer_side
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.trainer.trainer_replay import TrainerReplay
# pylint: enable=g-import-not-at-top,wrong-import-position


def per_call_ms(fn, calls: int, warmup: int = 3) -> float:
  for _ in range(warmup):
    fn()
  start = time.perf_counter()
  for _ in range(calls):
    fn()
  return 1000 * (time.perf_counter() - start) / calls


def env_and_policy_costs(params, agent, steps: int) -> dict:
  env = params.create_env(COLLECT_ENV, seed=0)
  action_spec = env.action_spec()
  rng = np.random.default_rng(0)
  time_step = env.reset()

  def env_step():
    nonlocal time_step
    action = array_spec.sample_bounded_spec(action_spec, rng)
    time_step = env.reset() if time_step.is_last() else env.step(action)

  costs = {'env_step': per_call_ms(env_step, steps)}
  for name, policy in (('collect_policy_call', agent.collect_policy),
                       ('greedy_policy_call', agent.policy)):
    py_policy = py_tf_eager_policy.PyTFEagerPolicy(policy, use_tf_function=True)
    costs[name] = per_call_ms(lambda: py_policy.action(time_step), steps)  # pylint: disable=cell-var-from-loop
  env.close()
  return costs


def replay_costs(params, agent, train_step, server: common.ReplayServerProgram,
                 episodes: int) -> dict:
  """What an episode costs the worker that writes it, the server and the trainer that reads it."""
  writer = episode_items.EpisodeWriter(
      server.connection, [replay_tables.EXPERIENCE_TABLE, replay_tables.FEED_TABLE],
      agent.collect_data_spec, episode_items.item_steps(params.episode_length),
      params.train_sequence_length)
  steps = common.random_episode(agent.collect_data_spec, params.episode_length)
  replay = TrainerReplay(agent.collect_data_spec, params.train_sequence_length,
                         params.replay_capacity, params.train_batch_size)
  sync = trainer_side.TrainerSync(
      ReplayConnection(server.address, params.replay_reconnect_timeout_s),
      replay_tables.synced_variables(agent.collect_policy.variables(), train_step),
      1, [], replay, params.train_batch_size, params.worker_report_timeout_s)

  def write(count):
    for _ in range(count):
      for step in steps:
        writer(step)
    writer.flush()

  write(trainer_side.FEED_BATCH)  # warms up the writer and traces the replay's functions
  sync.feed()
  server_before = server.cpu_seconds()
  start = time.perf_counter()
  write(episodes)
  episode_write = 1000 * (time.perf_counter() - start) / episodes
  start = time.perf_counter()
  sync.feed()
  feed_seconds = time.perf_counter() - start
  server_episode = 1000 * (server.cpu_seconds() - server_before) / episodes
  one_episode_reads = []
  for _ in range(20):
    write(1)
    start = time.perf_counter()
    sync.feed()
    one_episode_reads.append(1000 * (time.perf_counter() - start))
  writer.close()
  # Solve feed = feed_call + n * feed_episode for the reads of one and of `episodes` episodes.
  one_episode = float(np.median(one_episode_reads))
  feed_episode = max(0.0, (1000 * feed_seconds - one_episode) / (episodes - 1))  # ~0: noise
  return {'episode_write': episode_write, 'server_episode': server_episode,
          'feed_episode': feed_episode, 'feed_call': one_episode - feed_episode}


def policy_sync_costs(agent, train_step, address: str, calls: int) -> dict:
  variables = replay_tables.synced_variables(agent.collect_policy.variables(), train_step)
  container = reverb_variable_container.ReverbVariableContainer(
      address, table_names=[replay_tables.VARIABLE_TABLE])
  return {'policy_publish': per_call_ms(
              lambda: container.push(variables, replay_tables.VARIABLE_TABLE), calls),
          'policy_pull': per_call_ms(
              lambda: container.update(variables, replay_tables.VARIABLE_TABLE), calls)}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--params', default=common.BENCH_PARAMS)
  parser.add_argument('--config', default=common.DEFAULT_CONFIG)
  parser.add_argument('--server_cpus', type=int, nargs='*')
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args()
  tf.get_logger().setLevel('ERROR')
  params = params_loading.load_train_params(args.params, args.config)
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)

  steps = 300 if args.quick else 1000
  costs = env_and_policy_costs(params, agent, steps)
  with common.ReplayServerProgram(args.params, args.config, args.server_cpus) as server:
    costs.update(replay_costs(params, agent, train_step, server, 64 if args.quick else 256))
    costs.update(policy_sync_costs(agent, train_step, server.address, 20 if args.quick else 50))
  costs['sgd_step'] = 1000 / bare_loops.sgd_steps_per_sec(params, 100 if args.quick else 300)
  print(json.dumps(costs), flush=True)


if __name__ == '__main__':
  main()
