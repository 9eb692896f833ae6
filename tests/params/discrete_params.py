"""A params file whose environment has discrete actions, which SAC cannot train."""
from tf_agents.environments import random_py_environment
from tf_agents.specs import array_spec
import numpy as np

from tfagents_system.train_params_base import TrainParamsBase


class TrainParams(TrainParamsBase):

  def env_ctor(self, seed=None, *args, **kwargs):
    return random_py_environment.RandomPyEnvironment(
        array_spec.ArraySpec((2,), np.float32),
        action_spec=array_spec.BoundedArraySpec((), np.int64, minimum=0, maximum=3), seed=seed)
