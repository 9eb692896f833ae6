"""The point-mass example whose env raises in the collect workers after a few steps, when the
config's "crash_after_steps" says so: a bug in the user's env that makes a worker crash at every
start. Only the workers step envs (they have SLURM_PROCID); the launcher's checks do not."""
import os
import sys

from tfagents_system.envs.point_mass import PointMassEnv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recording_params  # pylint: disable=g-import-not-at-top,wrong-import-position


class CrashingPointMassEnv(PointMassEnv):

  def __init__(self, crash_after_steps, seed=None, **kwargs):
    super().__init__(seed, **kwargs)
    self._steps_left = crash_after_steps

  def _step(self, action):
    self._steps_left -= 1
    if self._steps_left < 0 and 'SLURM_PROCID' in os.environ:
      raise RuntimeError('the env exploded')  # once taken for a lost connection
    return super()._step(action)


class TrainParams(recording_params.TrainParams):

  def env_ctor(self, seed=None, *args, **kwargs):
    return CrashingPointMassEnv(self.env_config.get('crash_after_steps', float('inf')), seed,
                                *args, **kwargs)
