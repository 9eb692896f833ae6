"""The point-mass example whose env turns its rewards into NaN once the curriculum says so."""
import os
import sys

import numpy as np

from tfagents_system.envs.point_mass import PointMassEnv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recording_params  # pylint: disable=g-import-not-at-top,wrong-import-position


class PoisonablePointMassEnv(PointMassEnv):

  def __init__(self, seed=None, **kwargs):
    super().__init__(seed, **kwargs)
    self._poisoned = False

  def set_state(self, state):
    state = dict(state)
    self._poisoned = bool(state.pop('poison', self._poisoned))
    super().set_state(state)

  def _step(self, action):
    time_step = super()._step(action)
    if self._poisoned:
      return time_step._replace(reward=np.float32(np.nan))
    return time_step


class TrainParams(recording_params.TrainParams):

  def env_ctor(self, seed=None, *args, **kwargs):
    return PoisonablePointMassEnv(seed, *args, **kwargs)
