"""The Minitaur example cut down to a few short iterations, to run it through the system."""
from tfagents_system import minitaur_params


class TrainParams(minitaur_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    self.num_steps_per_iter = 10
    self.min_train_env_steps_per_iter = 60  # two of the test's 30-step episodes, or more
    self.n_buffer_init_episodes = 2
    self.n_eval_episodes = 2
    self.eval_period_itrs = 1
    self.train_batch_size = 32
    self.actor_fc_layer_params = (32, 32)
    self.critic_joint_fc_layer_params = (32, 32)
