"""The point-mass example whose env never finishes a step once its mass is set to 99 or more: a
user's env stuck in a robustness sweep's cell."""
import time

from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.point_mass_params import TrainParams as PointMassParams

STUCK_FROM_MASS = 99


class StuckPointMassEnv(PointMassEnv):

  def set_state(self, state):
    super().set_state(state)
    if 'mass' in state:
      self._stuck = state['mass'] >= STUCK_FROM_MASS

  def _step(self, action):
    while getattr(self, '_stuck', False):
      time.sleep(1)
    return super()._step(action)


class TrainParams(PointMassParams):

  def env_ctor(self, seed=None, *args, **kwargs):
    return StuckPointMassEnv(seed, *args, **kwargs)
