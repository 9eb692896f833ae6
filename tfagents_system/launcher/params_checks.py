"""The rules every TrainParamsBase hyperparameter must follow, checked before a run starts.

A value the programs cannot work with would otherwise show up only once they run: a period of
0 crash-loops them (modulo by zero), a checkpoint period of 0 silently disables checkpoints, a
batch the replay buffer can never hold blocks the trainer forever.
"""
import dataclasses
import math
import numbers
from typing import Any, Callable, Dict, Optional

import tensorflow as tf

from tfagents_system.common.params_loading import ParamsError
from tfagents_system.train_params_base import EVAL_RETURN
from tfagents_system.train_params_base import TrainParamsBase


@dataclasses.dataclass(frozen=True)
class Rule:
  requirement: str  # completes "TrainParams.<field> must be ..."
  accepts: Callable[[Any], bool]


def _is_whole(value) -> bool:
  # bool is an int subclass, but True is no iteration count.
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite(value) -> bool:
  return _is_number(value) and math.isfinite(value)


def whole_number(minimum: int) -> Rule:
  return Rule(f'a whole number >= {minimum}', lambda v: _is_whole(v) and v >= minimum)


def _is_layer_sizes(value) -> bool:
  return isinstance(value, (tuple, list)) and all(_is_whole(v) and v >= 1 for v in value)


def _is_learning_rate(value) -> bool:
  return ((_is_finite(value) and value > 0) or
          isinstance(value, tf.keras.optimizers.schedules.LearningRateSchedule))


LEARNING_RATE = Rule('a finite number > 0 or a tf.keras LearningRateSchedule', _is_learning_rate)
# tf-agents takes None for "no hidden layers", as it takes ().
LAYER_SIZES = Rule('a tuple or list of whole numbers >= 1, or None',
                   lambda v: v is None or _is_layer_sizes(v))
FINITE_NUMBER = Rule('a finite number', _is_finite)

RULES: Dict[str, Rule] = {
    'discount': Rule('a number in [0, 1]', lambda v: _is_number(v) and 0 <= v <= 1),
    'actor_learning_rate': LEARNING_RATE,
    'critic_learning_rate': LEARNING_RATE,
    'alpha_learning_rate': LEARNING_RATE,
    'target_update_tau': Rule('a number in (0, 1]', lambda v: _is_number(v) and 0 < v <= 1),
    'target_update_period': whole_number(1),
    # Clipping to an infinite norm turns the gradients into NaN (inf / inf).
    'gradient_clipping': Rule('None or a finite number > 0',
                              lambda v: v is None or (_is_finite(v) and v > 0)),
    'initial_log_alpha': FINITE_NUMBER,
    'reward_scale_factor': FINITE_NUMBER,
    'actor_fc_layer_params': LAYER_SIZES,
    'critic_joint_fc_layer_params': LAYER_SIZES,
    'recurrent': Rule('True or False', lambda v: isinstance(v, bool)),
    # A replay item is at least one transition: two steps.
    'recurrent_sequence_length': whole_number(2),
    'lstm_size': Rule('a non-empty tuple or list of whole numbers >= 1',
                      lambda v: _is_layer_sizes(v) and len(v) > 0),
    'num_iter': whole_number(1),
    'num_steps_per_iter': whole_number(1),
    'episode_length': whole_number(1),
    'n_episodes_in_buffer': whole_number(1),
    'n_train_episodes_per_iter': whole_number(1),
    'min_train_env_steps_per_iter': whole_number(0),
    'n_eval_episodes': whole_number(0),
    'n_eval_envs_per_worker': whole_number(1),
    'n_buffer_init_episodes': whole_number(0),
    'eval_period_itrs': whole_number(1),
    'train_batch_size': whole_number(1),
    'log_period_itrs': whole_number(1),
    'checkpoint_period_itrs': whole_number(1),
    # An infinite timeout is allowed: the trainer then always waits for every worker.
    'worker_report_timeout_s': Rule('a number > 0', lambda v: _is_number(v) and v > 0),
    'replay_reconnect_timeout_s': Rule('a number > 0', lambda v: _is_number(v) and v > 0),
    'eval_measures': Rule('a tuple or list of distinct names (str)',
                          lambda v: isinstance(v, (tuple, list)) and
                          all(isinstance(n, str) and n for n in v) and len(set(v)) == len(v)),
    'best_policy_score': Rule('a name (str)', lambda v: isinstance(v, str) and v),
}


def _batch_fits_in_replay(params: TrainParamsBase) -> Optional[str]:
  # The experience table's MinSize rate limiter lets the trainer sample only once it holds a
  # whole batch.
  if params.train_batch_size > params.replay_capacity:
    return (f'train_batch_size ({params.train_batch_size}) is larger than the replay capacity '
            f'n_episodes_in_buffer * episode_length = {params.replay_capacity}')
  return None


def _sequence_fits_in_episode(params: TrainParamsBase) -> Optional[str]:
  # Replay items do not cross episode boundaries: a longer sequence is never written.
  if params.recurrent and params.recurrent_sequence_length > params.episode_length:
    return (f'recurrent_sequence_length ({params.recurrent_sequence_length}) is longer than '
            f'an episode, episode_length = {params.episode_length}')
  return None


def _first_batch_is_collected(params: TrainParamsBase) -> Optional[str]:
  # Workers collect iteration 0 while the trainer takes its SGD steps, then wait for the next
  # policy, which the trainer publishes only after those steps: what the initial collection
  # and iteration 0 yield must fill a batch. The preflight does not know the worker count, so
  # this counts one worker; episodes yield at most episode_length items.
  collected = ((params.n_buffer_init_episodes + params.n_train_episodes_per_iter)
               * params.episode_length)
  if params.train_batch_size > collected:
    return (f'train_batch_size ({params.train_batch_size}) is larger than what one worker '
            'collects before the first batch is needed, (n_buffer_init_episodes + '
            f'n_train_episodes_per_iter) * episode_length = {collected}; raise n_buffer_init_episodes '
            '(the trainer would keep collecting random-policy episodes again to fill one)')
  return None


def _best_policy_score_is_recorded(params: TrainParamsBase) -> Optional[str]:
  if params.best_policy_score not in (EVAL_RETURN, *params.eval_measures):
    return (f'best_policy_score ({params.best_policy_score!r}) is neither {EVAL_RETURN!r} nor '
            f'one of eval_measures {list(params.eval_measures)}')
  return None


RELATIONS = (_batch_fits_in_replay, _sequence_fits_in_episode, _first_batch_is_collected,
             _best_policy_score_is_recorded)


def _one_line_repr(value) -> str:
  return ' '.join(repr(value).split())


def check_hyperparameters(params: TrainParamsBase) -> None:
  """Raises ParamsError naming the first hyperparameter that breaks its rule or a relation."""
  name = type(params).__name__
  for field, rule in RULES.items():
    if not hasattr(params, field):
      raise ParamsError(f'{name}.{field} is not set; does {name}.__init__ call '
                        'super().__init__(env_config)?')
    value = getattr(params, field)
    if not rule.accepts(value):
      raise ParamsError(f'{name}.{field} must be {rule.requirement}, got {_one_line_repr(value)}')
  for relation in RELATIONS:
    problem = relation(params)
    if problem:
      raise ParamsError(f'{name}.{problem}')
