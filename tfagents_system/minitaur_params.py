"""TrainParams for the pybullet Minitaur: SAC with the usual 256x256 networks.

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
    self.actor_fc_layer_params = (256, 256)
    self.critic_joint_fc_layer_params = (256, 256)
    self.discount = 0.99
    self.actor_learning_rate = 3e-4
    self.critic_learning_rate = 3e-4
    self.alpha_learning_rate = 3e-4
    self.target_update_tau = 0.005
    self.target_update_period = 1
    self.reward_scale_factor = 1.0
    self.num_iter = env_config.get('num_iter', 500)
    # 2 workers collect up to 2 * 1000 steps per iteration; 1000 SGD steps keep
    # the update-to-data ratio near SAC's usual 1 once episodes stop ending early.
    self.num_steps_per_iter = 1000
    self.n_episodes_in_buffer = 1000  # 1e6 transitions, as in the SAC paper
    self.n_train_episodes_per_iter = 1
    self.n_eval_episodes = 4
    self.n_buffer_init_episodes = 10
    self.eval_period_itrs = 10
    self.train_batch_size = 256
    self.log_period_itrs = 1
    self.checkpoint_period_itrs = 20

  def env_ctor(self, seed=None, *args, **kwargs):
    return MinitaurEnv(seed, *args, **kwargs)

  def _env_kwargs(self):
    return {'episode_length': self.episode_length, **self.env_config.get('env_kwargs', {})}

  def collect_env_args_kwargs(self):
    return (), self._env_kwargs()

  def eval_env_args_kwargs(self):
    return (), self._env_kwargs()
