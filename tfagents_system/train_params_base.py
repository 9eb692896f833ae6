"""The hyperparameters of a training run and the code that builds its SAC agent.

A user's params file defines `class TrainParams(TrainParamsBase)` and fills in
`env_ctor`; everything else has a working default that can be overridden.
"""
import abc
from typing import Any, Dict, Optional, Tuple

import tensorflow as tf
from tf_agents.agents.ddpg import critic_network
from tf_agents.agents.ddpg import critic_rnn_network
from tf_agents.agents.sac import sac_agent
from tf_agents.agents.sac import tanh_normal_projection_network
from tf_agents.networks import actor_distribution_network
from tf_agents.networks import actor_distribution_rnn_network

ArgsKwargs = Tuple[Tuple[Any, ...], Dict[str, Any]]
# The roles an env is built for: what workers collect experience with, and what they evaluate on.
COLLECT_ENV = 'collect'
EVAL_ENV = 'eval'
# The best_policy_score naming the mean eval return (any other names an eval measure).
EVAL_RETURN = 'eval_return'


class TrainParamsBase(abc.ABC):
  """SAC hyperparameters, environment construction and agent construction."""

  def __init__(self, env_config: Dict[str, Any]):
    self.env_config = env_config
    # Filled in by the program that builds this object (CPUs it may use, its
    # role, worker index); available to env_ctor for CPU-aware environments.
    self.compute_config: Dict[str, Any] = {}

    # SAC.
    self.discount = 0.99
    self.actor_learning_rate = 3e-4
    self.critic_learning_rate = 3e-4
    self.alpha_learning_rate = 3e-4
    self.target_update_tau = 0.005
    self.target_update_period = 1
    self.gradient_clipping: Optional[float] = None
    self.initial_log_alpha = 0.0
    self.reward_scale_factor = 1.0
    self.actor_fc_layer_params = (256, 256)
    self.critic_joint_fc_layer_params = (256, 256)

    # Recurrent actor and critic, trained on sequences of this many steps.
    self.recurrent = False
    self.recurrent_sequence_length = 20
    self.lstm_size = (40,)

    # Schedule. An iteration is: every worker collects n_train_episodes_per_iter
    # episodes while the trainer takes num_steps_per_iter SGD steps.
    self.num_iter = 1000
    self.num_steps_per_iter = 1000
    # Steps: the longest episode one replay item holds (a longer one takes several), and the
    # unit of the replay capacity.
    self.episode_length = 1000
    self.n_episodes_in_buffer = 1000
    self.n_train_episodes_per_iter = 1  # per worker
    # Per worker: more whole episodes until they add up to this many env steps. When episodes
    # end early (a robot that falls), this bounds the SGD steps per new env step, which would
    # otherwise climb to num_steps_per_iter per few dozen steps.
    self.min_train_env_steps_per_iter = 0
    self.n_eval_episodes = 10  # split across the workers
    # Per worker: its eval episodes run this many at a time, each in an eval env of its own,
    # with one policy call per step for all of them (cheaper when the policy call is most of
    # a step, as it is for small envs).
    self.n_eval_envs_per_worker = 1
    self.n_buffer_init_episodes = 10  # random policy, split across the workers
    self.eval_period_itrs = 10
    # Names of the eval env's episode_measures() (common/episode_measures.py) whose means over
    # each evaluation are recorded next to the eval return (<exp>/eval: EpisodeMeasures/<name>).
    self.eval_measures: Tuple[str, ...] = ()
    # What makes an evaluated policy the run's best (status.json's best_policy, run.py
    # --checkpoint best): 'eval_return', or one of eval_measures (the higher the better).
    self.best_policy_score = EVAL_RETURN
    self.train_batch_size = 256
    self.log_period_itrs = 1
    self.checkpoint_period_itrs = 20

    # How long the trainer waits for a worker's iteration report before it
    # goes on without it (a crashed or stalled worker must not block training).
    self.worker_report_timeout_s = 600.0
    # How long a program keeps reconnecting to a replay server that does not answer (one
    # restarting reloads its checkpoint first) before it gives up with an error.
    self.replay_reconnect_timeout_s = 300.0

  @property
  def train_sequence_length(self) -> int:
    """Steps per replay item: transitions, or sequences for recurrent nets."""
    return self.recurrent_sequence_length if self.recurrent else 2

  @property
  def replay_capacity(self) -> int:
    return self.n_episodes_in_buffer * self.episode_length

  @abc.abstractmethod
  def env_ctor(self, seed: Optional[int] = None, *args, **kwargs):
    """Returns a tf-agents PyEnvironment whose set_state(dict) takes curriculum values."""

  def collect_env_args_kwargs(self) -> ArgsKwargs:
    return (), {}

  def eval_env_args_kwargs(self) -> ArgsKwargs:
    return (), {}

  def create_env(self, role: str, seed: int):
    """The env of `role` (COLLECT_ENV or EVAL_ENV): env_ctor with that role's args, and `seed`."""
    args_kwargs = {COLLECT_ENV: self.collect_env_args_kwargs, EVAL_ENV: self.eval_env_args_kwargs}
    args, kwargs = args_kwargs[role]()
    return self.env_ctor(*args, seed=seed, **kwargs)

  def actor_ctor(self, observation_spec, action_spec):
    if self.recurrent:
      return actor_distribution_rnn_network.ActorDistributionRnnNetwork(
          observation_spec,
          action_spec,
          input_fc_layer_params=self.actor_fc_layer_params,
          lstm_size=self.lstm_size,
          output_fc_layer_params=None,
          continuous_projection_net=(
              tanh_normal_projection_network.TanhNormalProjectionNetwork))
    return actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        action_spec,
        fc_layer_params=self.actor_fc_layer_params,
        continuous_projection_net=(
            tanh_normal_projection_network.TanhNormalProjectionNetwork))

  def critic_ctor(self, observation_spec, action_spec):
    if self.recurrent:
      return critic_rnn_network.CriticRnnNetwork(
          (observation_spec, action_spec),
          observation_fc_layer_params=None,
          action_fc_layer_params=None,
          joint_fc_layer_params=self.critic_joint_fc_layer_params,
          lstm_size=self.lstm_size,
          output_fc_layer_params=None,
          kernel_initializer='glorot_uniform',
          last_kernel_initializer='glorot_uniform')
    return critic_network.CriticNetwork(
        (observation_spec, action_spec),
        observation_fc_layer_params=None,
        action_fc_layer_params=None,
        joint_fc_layer_params=self.critic_joint_fc_layer_params,
        kernel_initializer='glorot_uniform',
        last_kernel_initializer='glorot_uniform')

  def agent_ctor(self, time_step_spec, action_spec, train_step):
    observation_spec = time_step_spec.observation
    return sac_agent.SacAgent(
        time_step_spec,
        action_spec,
        actor_network=self.actor_ctor(observation_spec, action_spec),
        critic_network=self.critic_ctor(observation_spec, action_spec),
        actor_optimizer=tf.keras.optimizers.Adam(self.actor_learning_rate),
        critic_optimizer=tf.keras.optimizers.Adam(self.critic_learning_rate),
        alpha_optimizer=tf.keras.optimizers.Adam(self.alpha_learning_rate),
        target_update_tau=self.target_update_tau,
        target_update_period=self.target_update_period,
        td_errors_loss_fn=tf.math.squared_difference,
        gamma=self.discount,
        reward_scale_factor=self.reward_scale_factor,
        initial_log_alpha=self.initial_log_alpha,
        gradient_clipping=self.gradient_clipping,
        train_step_counter=train_step)
