"""TrainParams for the pybullet Minitaur: TrainParamsBase's SAC defaults (256x256
networks, 1000 SGD steps per iteration, a 1e6-step buffer), Minitaur episodes, at least 500 env
steps per worker per iteration.

env_config keys (all optional besides the curriculum): episode_length (steps,
default 1000), num_iter (default 500), env_kwargs (a dict of MinitaurEnv
constructor arguments for the collect and eval envs, e.g. initial "mass" and
"friction" for before their curriculum starts).
"""
from tfagents_system.envs.minitaur import MinitaurEnv
from tfagents_system.train_params_base import TrainParamsBase


class TrainParams(TrainParamsBase):

  def __init__(self, env_config):
    super().__init__(env_config)
    self.episode_length = env_config.get('episode_length', 1000)
    self.num_iter = env_config.get('num_iter', 500)
    # A falling robot's episodes end after a few dozen steps; without this, a bad spell of
    # them had the trainer take 1000 SGD steps per ~100 new env steps (docs/minitaur_tuning.md).
    self.min_train_env_steps_per_iter = 500
    self.n_eval_episodes = 4
    self.eval_measures = ('forward_distance_m',)  # MinitaurEnv.episode_measures
    self.best_policy_score = 'forward_distance_m'

  def env_ctor(self, seed=None, *args, **kwargs):
    return MinitaurEnv(seed, *args, **kwargs)

  def _env_kwargs(self):
    return {'episode_length': self.episode_length, **self.env_config.get('env_kwargs', {})}

  def collect_env_args_kwargs(self):
    return (), self._env_kwargs()

  def eval_env_args_kwargs(self):
    return (), self._env_kwargs()
