"""The point-mass example, with environments that record every set_state call.

The record goes to env_config["record_dir"]/<pid>_<seed>.jsonl, one JSON object a call: the
state, and under "episodes_done" how many episodes the env had finished by then (which tells
the iteration the call came in).
"""
import json
import os

from tfagents_system import point_mass_params
from tfagents_system.envs.point_mass import PointMassEnv


class RecordingPointMassEnv(PointMassEnv):

  def __init__(self, record_dir, seed=None, **kwargs):
    super().__init__(seed, **kwargs)
    self._record = os.path.join(record_dir, f'{os.getpid()}_{seed}.jsonl')
    self._episodes_done = 0

  def _step(self, action):
    time_step = super()._step(action)
    self._episodes_done += int(time_step.is_last())
    return time_step

  def set_state(self, state):
    super().set_state(state)
    with open(self._record, 'a') as f:
      f.write(json.dumps(dict(state, episodes_done=self._episodes_done)) + '\n')


class TrainParams(point_mass_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    for name in ('num_steps_per_iter', 'n_eval_episodes', 'eval_period_itrs',
                 'worker_report_timeout_s', 'checkpoint_period_itrs', 'recurrent',
                 'recurrent_sequence_length', 'actor_fc_layer_params', 'n_buffer_init_episodes',
                 'eval_measures'):
      if name in env_config:
        setattr(self, name, env_config[name])

  def env_ctor(self, seed=None, *args, **kwargs):
    return RecordingPointMassEnv(self.env_config['record_dir'], seed, *args, **kwargs)
