"""A worker's share of the run (its episodes, env seeds and eval iterations), its iteration's
collection into a real replay server, and workers.EpisodeRunner, which gives observers the
trajectory steps tf-agents' PyDriver gives them and adds up episodes as tf-agents' collect
metrics do, at a fraction of the cost."""
import numpy as np
import pytest
import reverb
from tf_agents.drivers import py_driver
from tf_agents.policies import py_policy
from tf_agents.policies import random_py_policy
from tf_agents.specs import array_spec
from tf_agents.train import actor
from tf_agents.trajectories import policy_step

from tfagents_system import workers
from tfagents_system.common import params_loading
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.launcher import preflight
from tfagents_system.tools import policy_evaluation
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.workers import EpisodeRunner

POINT_MASS = ('tfagents_system/point_mass_params.py', 'config/point_mass.json')


def test_the_workers_shares_add_up_to_the_total_and_differ_by_at_most_one():
  for total in (0, 1, 5, 10, 11):
    for num_workers in (1, 2, 3, 4):
      shares = [workers.episode_share(total, i, num_workers) for i in range(num_workers)]
      assert sum(shares) == total
      assert max(shares) - min(shares) <= 1
      assert shares == sorted(shares, reverse=True)  # the first workers take the remainder


def test_env_seeds_are_distinct_for_every_env_worker_start_and_run_seed():
  seeds = [seed for run_seed in range(3) for worker in range(8) for start in range(3)
           for seed in workers.env_seeds(run_seed, worker, start)]
  assert len(set(seeds)) == len(seeds)
  # A first start's seeds are the run's reference: run seed 1's worker 0 collects with 1000.
  assert workers.env_seeds(1, 0) == (1000, 1001)
  assert workers.env_seeds(0, 1, start=1) == (workers.SEEDS_PER_START + 2,
                                              workers.SEEDS_PER_START + 3)


class TowardsTheOrigin(py_policy.PyPolicy):
  """A deterministic policy: pushes the puck towards the origin, so that two runs of the same
  seeded env go the same way however often each calls the policy (time steps batched or not)."""

  def __init__(self, env):
    super().__init__(env.time_step_spec(), env.action_spec())

  def _action(self, time_step, policy_state):
    return policy_step.PolicyStep(np.clip(-time_step.observation[..., :2], -1, 1), policy_state)


def test_observers_get_the_trajectory_steps_tf_agents_driver_gives_them():
  def steps_observed(run):
    observed = []
    run(observed.append)
    return observed

  def run_driver(observer):
    env = PointMassEnv(seed=6, episode_length=7)
    py_driver.PyDriver(env, TowardsTheOrigin(env), [observer], max_episodes=4).run(env.reset())

  def run_runner(observer):
    env = PointMassEnv(seed=6, episode_length=7)
    runner = EpisodeRunner(env, TowardsTheOrigin(env), 2, [observer])
    runner.run()
    runner.run()  # a second run goes on with the next episode

  expected, observed = steps_observed(run_driver), steps_observed(run_runner)
  assert len(observed) == len(expected) == 4 * (7 + 1)
  for index, (step, expected_step) in enumerate(zip(observed, expected)):
    if expected_step.is_boundary():
      # The driver's boundary action is the policy's on the last time step, which no agent
      # learns from; the runner's repeats the episode's last action.
      assert np.array_equal(step.action, observed[index - 1].action)
      step = step._replace(action=expected_step.action)
    for field, value in step._asdict().items():
      np.testing.assert_array_equal(value, getattr(expected_step, field), err_msg=field)


class StepCounting(py_policy.PyPolicy):
  """A policy with a state, as recurrent ones have: the steps it took since its initial state,
  which it also gives as its action."""

  def __init__(self, env):
    super().__init__(env.time_step_spec(), env.action_spec(),
                     policy_state_spec=array_spec.ArraySpec((), np.int32))

  def _get_initial_state(self, batch_size):
    return np.zeros((), np.int32)

  def _action(self, time_step, policy_state):
    action = np.full(2, policy_state / 10, np.float32)
    return policy_step.PolicyStep(action, policy_state + 1)


def test_each_episode_starts_from_the_policys_initial_state_and_carries_it_step_to_step():
  env = PointMassEnv(seed=7, episode_length=5)
  actions = []
  runner = EpisodeRunner(env, StepCounting(env), 2,
                         [lambda step: actions.append(float(step.action[0]))])
  runner.run()
  runner.run()
  episode = [0.0, 0.1, 0.2, 0.3, 0.4, 0.4]  # its boundary step repeats its last action
  assert actions == pytest.approx(4 * episode)


def test_lockstep_evaluation_adds_up_the_episodes_each_env_runs_alone():
  # Episodes of different lengths: the env done first waits for the other.
  def envs():
    return [PointMassEnv(seed=8, episode_length=5), PointMassEnv(seed=9, episode_length=9)]

  alone = envs()
  episodes = [policy_evaluation.run_episode(alone[env], TowardsTheOrigin(alone[env]))
              for env in (0, 1, 0)]  # three episodes: the second round runs only the first env
  lockstep = envs()
  evaluation = workers.LockstepEvaluation(lockstep, TowardsTheOrigin(lockstep[0]),
                                          ['final_distance'])
  stats = evaluation.run(3)
  assert (stats.episodes, stats.length_sum) == (3, 5 + 9 + 5)
  assert stats.return_sum == pytest.approx(sum(e.total_return for e in episodes))
  assert stats.measure_sums['final_distance'] == pytest.approx(
      sum(e.measures['final_distance'] for e in episodes))
  assert evaluation.run(1).episodes == 1  # a second run counts its own episodes only


def test_a_workers_eval_envs_have_distinct_seeds_its_first_the_workers_eval_seed():
  seeds = [seed for run_seed in range(3) for worker in range(8) for start in range(3)
           for seed in workers.eval_env_seeds(workers.env_seeds(run_seed, worker, start)[1], 4)]
  collect_seeds = [workers.env_seeds(run_seed, worker, start)[0]
                   for run_seed in range(3) for worker in range(8) for start in range(3)]
  assert len(set(seeds + collect_seeds)) == len(seeds + collect_seeds)
  assert workers.eval_env_seeds(1001, 3)[0] == 1001
  assert all(0 <= seed < 2**32 for seed in seeds)


def test_sums_match_tf_agents_metrics():
  env = PointMassEnv(seed=3, episode_length=20)
  policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
  metrics = actor.collect_metrics(3)
  runner = EpisodeRunner(env, policy, 3, observers=metrics)
  for _ in range(2):  # a second run counts its own episodes only
    for metric in metrics:
      metric.reset()
    stats = runner.run()
    number_of_episodes, _, average_return, average_length = metrics
    assert stats.episodes == int(number_of_episodes.result()) == 3
    assert stats.return_sum == pytest.approx(3 * float(average_return.result()), rel=1e-5)
    assert stats.length_sum == 3 * float(average_length.result()) == 60


def test_the_env_measures_of_each_episode_are_added_up_at_its_last_step():
  env = PointMassEnv(seed=4, episode_length=10)
  policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
  ends = []  # the puck's distance from the origin after each episode's last step
  def record_end(trajectory):
    if trajectory.is_last():
      ends.append(float(np.linalg.norm(env._position)))  # pylint: disable=protected-access
  runner = EpisodeRunner(env, policy, 3,
                               observers=[record_end], measure_names=['final_distance'])
  stats = runner.run()
  assert len(ends) == 3 and stats.episodes == 3
  assert stats.measure_sums == {'final_distance': pytest.approx(sum(ends))}
  assert runner.run().measure_sums['final_distance'] == pytest.approx(sum(ends[3:]))


def test_episodes_are_added_until_they_reach_the_minimum_env_steps():
  env = PointMassEnv(seed=5, episode_length=20)
  policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
  for min_steps, episodes in ((0, 1), (20, 1), (40, 2), (45, 3)):
    runner = EpisodeRunner(env, policy, 1,
                                 min_steps=min_steps)
    stats = runner.run()
    assert (stats.episodes, stats.length_sum) == (episodes, 20 * episodes), min_steps


def test_a_worker_collects_its_iteration_up_to_its_minimum_env_steps_and_evaluates():
  # Point-mass episodes run 50 steps: 120 env steps take three of them, each its own item.
  params = params_loading.load_train_params(*POINT_MASS, {'min_train_env_steps_per_iter': 120})
  specs = replay_tables.TableSpecs.from_run_spec(preflight.check_run(*POINT_MASS, 0))
  server = reverb.Server(replay_tables.make_tables(specs))
  try:
    connection = ReplayConnection(f'localhost:{server.port}', params.replay_reconnect_timeout_s)
    worker = workers.CollectWorker(params, 0, 1, connection, run_seed=0, start=0)
    worker.join_at(1)
    report = worker.run_iteration(1)
    # Iteration 10 evaluates: the point-mass example's 4 eval episodes, 2 at a time.
    assert params.n_eval_envs_per_worker == 2 and len(worker.eval_envs) == 2
    evaluated = worker.run_iteration(10)
    worker.close()
    assert (report.collect_episodes, report.env_steps) == (3, 150)
    assert (evaluated.eval_episodes, evaluated.eval_length_sum) == (4, 200)
    assert set(evaluated.eval_measure_sums) == {'final_distance'}
    assert reverb.Client(f'localhost:{server.port}').server_info()[
        replay_tables.EXPERIENCE_TABLE].current_size == 3 + 3  # eval episodes are not written
  finally:
    server.stop()
