"""The point-mass example for the in-process protocol test: short episodes, small batches, and
worker 1's collect env held at reset until the test opens `GatedEnv.gate`."""
import threading

from tfagents_system import workers
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.point_mass_params import TrainParams as PointMassParams

BOUND_S = 120


class GatedEnv(PointMassEnv):
  gate = threading.Event()

  def _reset(self):
    assert self.gate.wait(BOUND_S)
    return super()._reset()


class TrainParams(PointMassParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    self.episode_length = 20
    self.n_buffer_init_episodes = 10  # 200 items: more than a batch
    self.train_batch_size = 64
    self.worker_report_timeout_s = BOUND_S
    self.replay_reconnect_timeout_s = 60

  def env_ctor(self, seed=None, *args, **kwargs):
    gated = seed == workers.env_seeds(0, 1)[0]
    return (GatedEnv if gated else PointMassEnv)(seed, episode_length=self.episode_length)
