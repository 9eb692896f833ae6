"""A worker's share of the run (its episodes, env seeds and eval iterations), and
workers.EpisodeActor, which adds up episodes as tf-agents' collect metrics do, at a fraction of
the cost."""
import numpy as np
import pytest
from tf_agents.policies import random_py_policy
from tf_agents.train import actor
from tf_agents.train.utils import train_utils

from tfagents_system import workers
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.workers import EpisodeActor


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


def test_sums_match_tf_agents_metrics():
  env = PointMassEnv(seed=3, episode_length=20)
  policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
  metrics = actor.collect_metrics(3)
  episode_actor = EpisodeActor(env, policy, train_utils.create_train_step(), 3, observers=metrics)
  for _ in range(2):  # a second run counts its own episodes only
    for metric in metrics:
      metric.reset()
    stats = episode_actor.run()
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
  episode_actor = EpisodeActor(env, policy, train_utils.create_train_step(), 3,
                               observers=[record_end], measure_names=['final_distance'])
  stats = episode_actor.run()
  assert len(ends) == 3 and stats.episodes == 3
  assert stats.measure_sums == {'final_distance': pytest.approx(sum(ends))}
  assert episode_actor.run().measure_sums['final_distance'] == pytest.approx(sum(ends[3:]))
