"""The hyperparameter rules: every field has one, bad values are refused in one line naming them."""
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from tfagents_system import minitaur_params
from tfagents_system import point_mass_params
from tfagents_system.common.params_loading import ParamsError
from tfagents_system.launcher.params_checks import check_hyperparameters
from tfagents_system.launcher.params_checks import RULES
from tfagents_system.train_params_base import TrainParamsBase

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name):
  with open(os.path.join(REPO, 'config', name)) as f:
    return json.load(f)


def point_mass(**changes):
  params = point_mass_params.TrainParams(load_config('point_mass.json'))
  for field, value in changes.items():
    setattr(params, field, value)
  return params


def refusal(params) -> str:
  with pytest.raises(ParamsError) as e:
    check_hyperparameters(params)
  message = str(e.value)
  assert '\n' not in message
  return message


class BareParams(TrainParamsBase):

  def env_ctor(self, seed=None, *args, **kwargs):
    raise NotImplementedError


def test_every_field_of_train_params_base_has_a_rule():
  fields = {name for name in vars(BareParams({})) if not name.startswith('_')}
  assert set(RULES) == fields - {'env_config', 'compute_config'}


@pytest.mark.parametrize('params', [
    point_mass(),
    point_mass(recurrent=True, recurrent_sequence_length=8),
    minitaur_params.TrainParams(load_config('minitaur.json')),
    BareParams({}),
], ids=['point_mass', 'point_mass_recurrent', 'minitaur', 'defaults'])
def test_the_examples_pass(params):
  check_hyperparameters(params)


def test_a_zero_period_names_field_and_value():
  assert refusal(point_mass(eval_period_itrs=0)) == (
      'TrainParams.eval_period_itrs must be a whole number >= 1, got 0')


def test_a_whole_number_given_as_float_is_refused():
  assert refusal(point_mass(num_iter=100.0)) == (
      'TrainParams.num_iter must be a whole number >= 1, got 100.0')


def test_a_bool_is_no_whole_number():
  assert refusal(point_mass(num_iter=True)) == (
      'TrainParams.num_iter must be a whole number >= 1, got True')


@pytest.mark.parametrize('field, value', [
    ('discount', 1.5), ('discount', -0.1), ('discount', math.nan), ('discount', '0.99'),
    ('actor_learning_rate', 0), ('critic_learning_rate', -3e-4),
    ('alpha_learning_rate', math.inf), ('actor_learning_rate', math.nan),
    ('actor_learning_rate', None),
    ('target_update_tau', 0), ('target_update_tau', 1.5),
    ('target_update_period', 0), ('target_update_period', 1.0),
    ('gradient_clipping', 0), ('gradient_clipping', -1.0), ('gradient_clipping', math.inf),
    ('initial_log_alpha', math.inf), ('initial_log_alpha', None),
    ('reward_scale_factor', math.nan), ('reward_scale_factor', True),
    ('actor_fc_layer_params', (64, 0)), ('actor_fc_layer_params', 64),
    ('critic_joint_fc_layer_params', (64.0, 64)), ('critic_joint_fc_layer_params', (True,)),
    ('recurrent', 1), ('recurrent', 'yes'),
    ('recurrent_sequence_length', 1), ('recurrent_sequence_length', 8.0),
    ('lstm_size', ()), ('lstm_size', (40, -1)), ('lstm_size', 40),
    ('num_iter', 0), ('num_steps_per_iter', 0), ('num_steps_per_iter', 1e3),
    ('episode_length', 0), ('n_episodes_in_buffer', 0), ('n_train_episodes_per_iter', 0),
    ('n_eval_episodes', -1), ('n_eval_envs_per_worker', 0), ('n_buffer_init_episodes', -1), ('n_buffer_init_episodes', False),
    ('eval_period_itrs', -10),
    ('train_batch_size', 0), ('train_batch_size', '128'),
    ('log_period_itrs', 0), ('checkpoint_period_itrs', 0), ('checkpoint_period_itrs', -1),
    ('worker_report_timeout_s', 0), ('worker_report_timeout_s', -1.0),
    ('worker_report_timeout_s', math.nan),
    ('eval_measures', 'final_distance'), ('eval_measures', ('a', 'a')), ('eval_measures', ('',)),
    ('best_policy_score', ''), ('best_policy_score', None),
])
def test_a_bad_value_is_refused_naming_field_and_value(field, value):
  assert refusal(point_mass(**{field: value})) == (
      f'TrainParams.{field} must be {RULES[field].requirement}, got {value!r}')


@pytest.mark.parametrize('field, value', [
    ('discount', 0), ('discount', 1),
    ('actor_learning_rate', tf.keras.optimizers.schedules.ExponentialDecay(3e-4, 1000, 0.9)),
    ('target_update_tau', 1), ('target_update_period', 2),
    ('gradient_clipping', None), ('gradient_clipping', 10),
    ('initial_log_alpha', -2), ('reward_scale_factor', 0.1),
    ('actor_fc_layer_params', [32, 32]), ('actor_fc_layer_params', ()),
    ('critic_joint_fc_layer_params', None),
    ('lstm_size', [16, 16]), ('recurrent_sequence_length', 2),
    ('num_iter', np.int64(5)), ('n_eval_episodes', 0),
    ('checkpoint_period_itrs', 1000),
    ('worker_report_timeout_s', 30), ('worker_report_timeout_s', math.inf),
    ('eval_measures', ()), ('eval_measures', ['final_distance']),
])
def test_a_good_value_passes(field, value):
  check_hyperparameters(point_mass(**{field: value}))


def test_the_value_is_shown_on_one_line():
  message = refusal(point_mass(lstm_size=np.zeros((3, 40), dtype=int)))
  assert message.startswith('TrainParams.lstm_size must be a non-empty tuple or list')


def test_a_batch_larger_than_the_replay_capacity_is_refused():
  assert refusal(point_mass(n_episodes_in_buffer=2)) == (
      'TrainParams.train_batch_size (128) is larger than the replay capacity '
      'n_episodes_in_buffer * episode_length = 100')
  check_hyperparameters(point_mass(n_episodes_in_buffer=2, train_batch_size=100))


def test_a_recurrent_sequence_must_fit_in_an_episode():
  assert refusal(point_mass(recurrent=True, recurrent_sequence_length=51)) == (
      'TrainParams.recurrent_sequence_length (51) is longer than an episode, '
      'episode_length = 50')
  check_hyperparameters(point_mass(recurrent=True, recurrent_sequence_length=50))
  check_hyperparameters(point_mass(recurrent=False, recurrent_sequence_length=51))


def test_the_first_batch_must_be_collectable_by_one_worker():
  assert refusal(point_mass(n_buffer_init_episodes=0)) == (
      'TrainParams.train_batch_size (128) is larger than what one worker collects before the '
      'first batch is needed, (n_buffer_init_episodes + n_train_episodes_per_iter) * '
      'episode_length = 50; raise n_buffer_init_episodes (the trainer would keep collecting '
      'random-policy episodes again to fill one)')
  check_hyperparameters(point_mass(n_buffer_init_episodes=0, n_train_episodes_per_iter=3))
  check_hyperparameters(point_mass(n_buffer_init_episodes=2))


def test_the_best_policy_score_must_be_the_eval_return_or_an_eval_measure():
  assert refusal(point_mass(eval_measures=('final_distance',), best_policy_score='distance')) == (
      "TrainParams.best_policy_score ('distance') is neither 'eval_return' nor one of "
      "eval_measures ['final_distance']")
  assert refusal(point_mass(eval_measures=(), best_policy_score='final_distance')).startswith(
      "TrainParams.best_policy_score ('final_distance') is neither")
  check_hyperparameters(point_mass(eval_measures=('final_distance',),
                                   best_policy_score='final_distance'))
  check_hyperparameters(point_mass(eval_measures=(), best_policy_score='eval_return'))


def test_a_field_problem_is_reported_before_a_relation():
  message = refusal(point_mass(n_episodes_in_buffer=2, log_period_itrs=0))
  assert message.startswith('TrainParams.log_period_itrs must be')


def test_params_whose_init_skips_the_base_init_are_refused():

  class TrainParams(TrainParamsBase):

    def __init__(self, env_config):  # pylint: disable=super-init-not-called
      self.num_iter = 10

    def env_ctor(self, seed=None, *args, **kwargs):
      raise NotImplementedError

  assert refusal(TrainParams({})) == (
      'TrainParams.discount is not set; does TrainParams.__init__ call '
      'super().__init__(env_config)?')
