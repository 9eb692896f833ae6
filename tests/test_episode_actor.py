"""workers.EpisodeActor adds up episodes as tf-agents' collect metrics do, at a fraction of the cost."""
import pytest
from tf_agents.policies import random_py_policy
from tf_agents.train import actor
from tf_agents.train.utils import train_utils

from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.workers import EpisodeActor


def test_sums_match_tf_agents_metrics():
  env = PointMassEnv(seed=3, episode_length=20)
  policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
  metrics = actor.collect_metrics(3)
  episode_actor = EpisodeActor(env, policy, train_utils.create_train_step(), 3, observers=metrics)
  for _ in range(2):  # a second run counts its own episodes only
    for metric in metrics:
      metric.reset()
    episodes, return_sum, length_sum = episode_actor.run()
    number_of_episodes, _, average_return, average_length = metrics
    assert episodes == int(number_of_episodes.result()) == 3
    assert return_sum == pytest.approx(3 * float(average_return.result()), rel=1e-5)
    assert length_sum == 3 * float(average_length.result()) == 60
