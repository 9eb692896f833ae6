"""TrainParams for the point-mass example: learns in a few minutes on a laptop."""
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.train_params_base import TrainParamsBase


class TrainParams(TrainParamsBase):

  def __init__(self, env_config):
    super().__init__(env_config)
    self.episode_length = env_config.get('episode_length', 50)
    self.actor_fc_layer_params = (64, 64)
    self.critic_joint_fc_layer_params = (64, 64)
    self.discount = 0.95
    self.num_iter = env_config.get('num_iter', 60)
    self.num_steps_per_iter = 100
    self.n_episodes_in_buffer = 400
    self.n_train_episodes_per_iter = 1
    self.n_eval_episodes = 4
    self.n_eval_envs_per_worker = 2  # a step is mostly its policy call: one for both envs
    self.n_buffer_init_episodes = 10
    self.eval_period_itrs = 10
    self.eval_measures = ('final_distance',)  # PointMassEnv.episode_measures
    self.train_batch_size = 128
    self.log_period_itrs = 1
    self.checkpoint_period_itrs = 20

  def env_ctor(self, seed=None, *args, **kwargs):
    return PointMassEnv(seed, *args, **kwargs)

  def collect_env_args_kwargs(self):
    return (), {'episode_length': self.episode_length}

  def eval_env_args_kwargs(self):
    return (), {'episode_length': self.episode_length}
