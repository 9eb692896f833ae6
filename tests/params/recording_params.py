"""The point-mass example, with environments that record every set_state call.

The record goes to env_config["record_dir"]/<pid>_<seed>.jsonl, one JSON object a call.
"""
import json
import os

from tfagents_system import point_mass_params
from tfagents_system.envs.point_mass import PointMassEnv


class RecordingPointMassEnv(PointMassEnv):

  def __init__(self, record_dir, seed=None, **kwargs):
    super().__init__(seed, **kwargs)
    self._record = os.path.join(record_dir, f'{os.getpid()}_{seed}.jsonl')

  def set_state(self, state):
    super().set_state(state)
    with open(self._record, 'a') as f:
      f.write(json.dumps(state) + '\n')


class TrainParams(point_mass_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    for name in ('num_steps_per_iter', 'n_eval_episodes', 'eval_period_itrs',
                 'worker_report_timeout_s', 'checkpoint_period_itrs', 'recurrent',
                 'recurrent_sequence_length', 'actor_fc_layer_params'):
      if name in env_config:
        setattr(self, name, env_config[name])

  def env_ctor(self, seed=None, *args, **kwargs):
    return RecordingPointMassEnv(self.env_config['record_dir'], seed, *args, **kwargs)
