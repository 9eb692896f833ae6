"""TrainParamsBase builds every env of a run: env_ctor with the args of the env's role (collect
or eval) and the env's seed."""
import numpy as np

from tfagents_system.common.params_loading import load_train_params
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.train_params_base import EVAL_ENV
from tfagents_system.train_params_base import TrainParamsBase


class RecordingParams(TrainParamsBase):

  def env_ctor(self, seed=None, *args, **kwargs):
    return {'seed': seed, 'args': args, **kwargs}

  def collect_env_args_kwargs(self):
    return (), {'episode_length': 10}

  def eval_env_args_kwargs(self):
    return (), {'episode_length': 20, 'mass': 2.0}


def test_each_role_gets_its_own_args_and_the_seed():
  params = RecordingParams({})
  assert params.create_env(COLLECT_ENV, 4) == {'seed': 4, 'args': (), 'episode_length': 10}
  assert params.create_env(EVAL_ENV, 5) == {'seed': 5, 'args': (), 'episode_length': 20,
                                            'mass': 2.0}


def test_the_example_env_is_the_one_its_constructor_gives_for_that_seed():
  params = load_train_params('tfagents_system/point_mass_params.py', 'config/point_mass.json')
  args, kwargs = params.eval_env_args_kwargs()
  built, direct = params.create_env(EVAL_ENV, 7), PointMassEnv(*args, seed=7, **kwargs)
  np.testing.assert_array_equal(built.reset().observation, direct.reset().observation)
