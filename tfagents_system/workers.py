"""A collect/eval worker: its environments, policies and episode runners, one iteration of work,
and the worker's share of the run (its episodes, its env seeds, when it evaluates)."""
import time
from typing import Dict, List, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.policies import greedy_policy
from tf_agents.policies import py_tf_eager_policy
from tf_agents.policies import random_py_policy
from tf_agents.specs import tensor_spec
from tf_agents.train.utils import spec_utils
from tf_agents.train.utils import train_utils
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory
from tf_agents.utils import nest_utils

from tfagents_system.common import episode_measures
from tfagents_system.common.cpu_turns import CpuTurns
from tfagents_system.common import program_setup
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.curriculum import CurriculumCursor
from tfagents_system.protocol import episode_items
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol.iteration_sync import INIT_ITERATION
from tfagents_system.protocol.iteration_sync import is_eval_iteration
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerLost
from tfagents_system.protocol.worker_side import WorkerSync
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.train_params_base import EVAL_ENV
from tfagents_system.train_params_base import TrainParamsBase

# Seeds of a worker's later starts: far from every first start's (run seeds below 1000).
SEEDS_PER_START = 1_000_000


def episode_share(total: int, worker_index: int, num_workers: int) -> int:
  """This worker's part of `total` episodes split across all workers."""
  return total // num_workers + (1 if worker_index < total % num_workers else 0)


def env_seeds(run_seed: int, worker_index: int, start: int = 0) -> Tuple[int, int]:
  """Distinct, reproducible (collect, eval) env seeds for every start of every worker of every
  run seed: a restarted worker does not replay the start states it had."""
  collect_seed = SEEDS_PER_START * start + 1000 * run_seed + 2 * worker_index
  return collect_seed, collect_seed + 1


def eval_env_seeds(eval_seed: int, count: int) -> List[int]:
  """The seeds of a worker's `count` eval envs: its eval seed, then seeds drawn from it (32-bit,
  as every env's RNG takes them; they meet another env's seed with a chance of ~1e-9)."""
  return [eval_seed] + [int(np.random.SeedSequence([eval_seed, env]).generate_state(1)[0])
                        for env in range(1, count)]


class CollectWorker:
  """Collects experience into Reverb with the latest policy and evaluates it."""

  def __init__(self, params: TrainParamsBase, worker_index: int, num_workers: int,
               connection: ReplayConnection, run_seed: int, start: int):
    self.params = params
    self.worker_index = worker_index
    self.start = start
    self._eval_episodes = episode_share(params.n_eval_episodes, worker_index, num_workers)
    collect_seed, eval_seed = env_seeds(run_seed, worker_index, start)
    tf.random.set_seed(collect_seed)  # the collect policy's action noise
    self.collect_env = params.create_env(COLLECT_ENV, collect_seed)
    eval_seeds = eval_env_seeds(
        eval_seed, max(1, min(params.n_eval_envs_per_worker, self._eval_episodes)))
    self.eval_envs = [params.create_env(EVAL_ENV, seed) for seed in eval_seeds]
    logging.info('Worker %d (start %d): collect env seed %d, eval env seeds %s',
                 worker_index, start, collect_seed, eval_seeds)

    # The initial random-policy episodes need no agent: it is built once they are reported, off
    # the way to the trainer's first SGD step (the workers share a CPU with the replay server
    # when CPUs are scarce, docs/benchmarks.md).
    self._init_policy = random_py_policy.RandomPyPolicy(self.collect_env.time_step_spec(),
                                                        self.collect_env.action_spec())
    self._data_spec = tensor_spec.from_spec(self._init_policy.collect_data_spec)
    self.train_step = train_utils.create_train_step()
    self._policies = None
    self._init_episodes = episode_share(params.n_buffer_init_episodes, worker_index, num_workers)
    self._curriculum_cursor = CurriculumCursor(Curriculum.from_env_config(params.env_config))
    self._applied_curriculum: Dict[str, float] = {}
    self._connection = connection
    connection.on_reconnect(self.connect)
    self.connect()

  @property
  def synced_variables(self):
    """The policy variables the trainer publishes, as the worker's policies hold them."""
    return self._agent_policies().synced_variables

  def _agent_policies(self) -> 'AgentPolicies':
    if self._policies is None:
      self._policies = AgentPolicies(self.params, self.collect_env, self.train_step,
                                     self._data_spec)
      self._make_policy_runners()
    return self._policies

  def connect(self) -> None:
    """(Re)connects the collect runners to the replay server's experience tables."""
    self._observer = episode_items.EpisodeWriter(
        self._connection, [replay_tables.EXPERIENCE_TABLE, replay_tables.FEED_TABLE],
        self._data_spec, episode_items.item_steps(self.params.episode_length),
        self.params.train_sequence_length)
    self._init_runner = EpisodeRunner(self.collect_env, self._init_policy,
                                      max(1, self._init_episodes), [self._observer])
    if self._policies is not None:
      self._make_policy_runners()

  def _make_policy_runners(self) -> None:
    self._collect_runner = EpisodeRunner(self.collect_env, self._policies.collect,
                                         self.params.n_train_episodes_per_iter, [self._observer],
                                         min_steps=self.params.min_train_env_steps_per_iter)
    self._evaluation = LockstepEvaluation(self.eval_envs, self._policies.greedy,
                                          self.params.eval_measures)

  def join_at(self, iteration: int) -> None:
    """The curriculum values due when this worker joins (the initial collection: iteration 0)."""
    iteration = max(iteration, 0)
    self._curriculum_cursor.join_at(iteration, restarted=self.start > 0)
    self.apply_curriculum(iteration)

  def apply_curriculum(self, iteration: int) -> None:
    for name, value in self._curriculum_cursor.updates_due(iteration):
      logging.info('Iteration %d: set_state(%s=%g) on the collect and eval envs',
                   iteration, name, value)
      for env in [self.collect_env] + self.eval_envs:
        env.set_state({name: value})
      self._applied_curriculum[name] = value

  def collect_initial_experience(self) -> WorkerReport:
    """This worker's share of the random-policy episodes that fill the buffer first."""
    report = WorkerReport(self.worker_index, INIT_ITERATION,
                          curriculum=dict(self._applied_curriculum))
    if self._init_episodes:
      self._run_collect(self._init_runner, report)
      if self._policies is not None:  # a restarted server's second initial collection
        self._collect_runner.reset()  # its first time step went stale while the init runner ran
    return report

  def run_iteration(self, iteration: int) -> WorkerReport:
    """Collect (and, when due, evaluate) with the policy already pulled for `iteration`."""
    self.apply_curriculum(iteration)
    report = WorkerReport(self.worker_index, iteration, curriculum=dict(self._applied_curriculum),
                          policy_train_step=int(self.train_step.numpy()))
    self._agent_policies()
    self._run_collect(self._collect_runner, report)
    if self._eval_episodes and is_eval_iteration(iteration, self.params.eval_period_itrs,
                                                 self.params.num_iter):
      start = time.monotonic()
      stats = self._evaluation.run(self._eval_episodes)
      report.eval_seconds = time.monotonic() - start
      report.eval_episodes, report.eval_return_sum, report.eval_length_sum = (
          stats.episodes, stats.return_sum, float(stats.length_sum))
      report.eval_measure_sums = dict(stats.measure_sums)
    return report

  def _run_collect(self, collect_runner: 'EpisodeRunner', report: WorkerReport) -> None:
    start = time.monotonic()
    stats = collect_runner.run()
    self._observer.flush()  # the iteration's experience is in Reverb before it is reported
    report.collect_seconds = time.monotonic() - start
    report.env_steps = stats.length_sum  # runners run whole episodes
    report.collect_episodes, report.collect_return_sum, report.collect_length_sum = (
        stats.episodes, stats.return_sum, float(stats.length_sum))

  def close(self) -> None:
    self._observer.close()
    for env in [self.collect_env] + self.eval_envs:
      env.close()


def follow_iterations(worker: CollectWorker, sync: WorkerSync, connection: ReplayConnection,
                      turns: CpuTurns, num_iter: int) -> None:
  """Works on every iteration the trainer publishes until training is over, collecting and
  evaluating in its turn on the CPUs it shares."""

  def work(iteration, waited_s):
    pulled_s = 0.0
    if iteration != INIT_ITERATION:
      synced_variables = worker.synced_variables  # the first time, the agent is built
      pull_start = time.monotonic()
      sync.update_policy(synced_variables)
      pulled_s = time.monotonic() - pull_start
    with turns.turn() as turn_wait_s:
      report = (worker.collect_initial_experience() if iteration == INIT_ITERATION
                else worker.run_iteration(iteration))
    report.policy_pull_seconds = pulled_s
    report.cpu_turn_wait_seconds = turn_wait_s
    report.publication_wait_seconds = waited_s
    sync.report(report)
    return report

  wait_start = time.monotonic()
  iteration = sync.wait_for_next_iteration()
  logging.info('Worker %d joins at iteration %d', worker.worker_index, iteration)
  worker.join_at(iteration)
  while iteration < num_iter:
    waited_s = time.monotonic() - wait_start
    try:
      report = connection.call(lambda: work(iteration, waited_s),  # pylint: disable=cell-var-from-loop
                               f'working on iteration {iteration}', attempts=1)
      logging.info('Iteration %d: %d env steps, collect return %.3f', iteration,
                   report.env_steps, report.collect_return_sum / max(1, report.collect_episodes))
    except ReplayServerLost as e:
      # Its experience went with the server: the trainer publishes the iteration again.
      logging.warning('Iteration %d abandoned: %s', iteration, e)
    wait_start = time.monotonic()
    iteration = sync.wait_for_next_iteration()


class AgentPolicies:
  """A worker's policies, from the user's agent: the collect policy and the greedy one it
  evaluates with (on a batch of time steps, one per eval env), both updated from the trainer's
  publications through `synced_variables`."""

  def __init__(self, params: TrainParamsBase, collect_env, train_step, data_spec):
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(collect_env)
    agent, _ = program_setup.create_agent(params, time_step_spec, action_spec, train_step)
    # The episodes were packed by the random policy's spec before the agent existed.
    if episode_items.field_layout(agent.collect_data_spec) != episode_items.field_layout(data_spec):
      raise ValueError(f'the agent collects {agent.collect_data_spec}, but its env and a random '
                       f'policy give {data_spec}')
    self.synced_variables = replay_tables.synced_variables(agent.collect_policy.variables(),
                                                           train_step)
    self.collect = py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy, use_tf_function=True)
    self.greedy = py_tf_eager_policy.PyTFEagerPolicy(greedy_policy.GreedyPolicy(agent.policy),
                                                     use_tf_function=True,
                                                     batch_time_steps=False)


class EpisodeStats:
  """Adds up the episodes of a run, as an observer of an EpisodeRunner or step by step, and
  the env's episode measures named (common/episode_measures.py). tf-agents' py metrics
  (actor.collect_metrics) took ~40% of a point-mass collect step; this takes a few additions."""

  def __init__(self, env=None, measure_names: Sequence[str] = ()):
    self._env, self._measure_names = env, tuple(measure_names)  # env: the observed one
    self.reset()

  def reset(self) -> None:
    self.episodes, self.return_sum, self.length_sum = 0, 0.0, 0
    self.measure_sums = {name: 0.0 for name in self._measure_names}

  def __call__(self, trajectory) -> None:
    # Trajectory.is_boundary() first asks whether the step type is a tensor: slower than this.
    if trajectory.step_type != ts.StepType.LAST:  # not from an episode's last to the next's first
      self.add_step(trajectory.reward,
                    self._env if trajectory.next_step_type == ts.StepType.LAST else None)

  def add_step(self, reward, ended_env=None) -> None:
    """An env step's reward; `ended_env`: the env whose episode the step ended, whose measures
    are read before it resets."""
    self.return_sum += float(reward)
    self.length_sum += 1
    if ended_env is not None:
      self.episodes += 1
      if self._measure_names:
        measures = episode_measures.read(ended_env)
        for name in self._measure_names:
          self.measure_sums[name] += measures[name]


class EpisodeRunner:
  """Runs whole episodes of a policy in an env, `episodes` at a time and more until they add up
  to `min_steps` env steps, with what they added up to. Observers get each step's Trajectory
  as from tf-agents' PyDriver, and then the step from the episode's last time step to the next
  one's first (the boundary: it ends the episode for EpisodeWriter and EpisodeStats).

  Not tf-agents' Actor: its PyDriver made 0.91 of the bare env + policy loop's steps/s on a
  point-mass worker's CPU, this 0.98 (docs/benchmarks.md). Per step the driver asks the time
  step and trajectory three times whether they are tensors (each a slow isinstance check) and
  sums two numpy arrays to count episodes and steps, and it calls the policy on each episode's
  last time step for the boundary's action, which no agent learns from (a trajectory's last
  action is dropped by trajectory.to_transition); the boundary here repeats the episode's last
  action.
  """

  def __init__(self, env, policy, episodes: int, observers=(),
               measure_names: Sequence[str] = (), min_steps: int = 0):
    self._env, self._policy = env, policy
    self._episodes, self._min_steps = episodes, min_steps
    self._stats = EpisodeStats(env, measure_names)
    self._observers = list(observers) + [self._stats]
    self.reset()

  def run(self) -> EpisodeStats:
    """Runs this run's episodes; returns what they added up to."""
    self._stats.reset()
    episodes = 0
    while episodes < self._episodes or self._stats.length_sum < self._min_steps:
      self._run_episode()
      episodes += 1
    return self._stats

  def _run_episode(self) -> None:
    # As long as the env's episode: an env that never ends one keeps its worker from reporting,
    # and the trainer goes on without it after worker_report_timeout_s, saying so.
    time_step, policy_state = self._time_step, self._policy_state
    while time_step.step_type != ts.StepType.LAST:  # a FIRST time step at first (reset)
      action_step = self._policy.action(time_step, policy_state)
      next_time_step = self._env.step(action_step.action)
      self._observe(trajectory.from_transition(time_step, action_step, next_time_step))
      time_step, policy_state = next_time_step, action_step.state
    self.reset()
    self._observe(trajectory.from_transition(time_step, action_step, self._time_step))

  def _observe(self, trajectory_step) -> None:
    for observer in self._observers:
      observer(trajectory_step)

  def reset(self) -> None:
    """Starts a new episode: the env's and the policy's state."""
    self._time_step = self._env.reset()
    self._policy_state = self._policy.get_initial_state(1)


class LockstepEvaluation:
  """Evaluates a policy on whole episodes, one per env at a time, the envs in lockstep: one
  policy call per step for all of them (a point-mass step is mostly its policy call). An env
  whose episode ended waits for the others, its last time step holding its place in the batch
  (the batch keeps its shape: one trace of the policy); rounds with fewer episodes left than
  envs leave the last envs out the same way.

  `policy` takes time steps batched along the envs (PyTFEagerPolicy(batch_time_steps=False)).
  """

  def __init__(self, envs, policy, measure_names: Sequence[str] = ()):
    self._envs, self._policy = list(envs), policy
    self._stats = EpisodeStats(measure_names=measure_names)

  def run(self, episodes: int) -> EpisodeStats:
    """Runs `episodes` episodes; returns what they added up to."""
    self._stats.reset()
    while self._stats.episodes < episodes:
      self._run_round(min(episodes - self._stats.episodes, len(self._envs)))
    return self._stats

  def _run_round(self, episodes: int) -> None:
    time_steps = [env.reset() for env in self._envs[:episodes]]
    # Envs left out of the round hold their place with the first one's time step.
    time_steps += time_steps[:1] * (len(self._envs) - episodes)
    running = list(range(episodes))
    policy_state = self._policy.get_initial_state(len(self._envs))
    while running:  # each env's episode ends (the bound of EpisodeRunner's episodes)
      action_step = self._policy.action(nest_utils.stack_nested_arrays(time_steps), policy_state)
      actions = tf.nest.map_structure(np.asarray, action_step.action)
      policy_state = action_step.state
      for env_index in list(running):
        env = self._envs[env_index]
        time_step = env.step(tf.nest.map_structure(lambda batch: batch[env_index], actions))  # pylint: disable=cell-var-from-loop
        time_steps[env_index] = time_step
        ended = time_step.step_type == ts.StepType.LAST
        self._stats.add_step(time_step.reward, env if ended else None)
        if ended:
          running.remove(env_index)
