"""The trainer's SGD steps: tf-agents' Learner over the trainer's replay, compiled before any
data, run to a train step under the iteration protocol, with losses that must stay finite."""
import contextlib
import math
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from tf_agents.train import learner
from tf_agents.utils import common

from tfagents_system.protocol import episode_items
from tfagents_system.protocol.replay_connection import ReplayServerUnreachable
from tfagents_system.protocol.trainer_side import TrainerSync
from tfagents_system.trainer.trainer_replay import TrainerReplay
from tfagents_system.trainer.trainer_stop import TrainerStop
from tfagents_system.trainer.training_progress import TrainingProgress

# Of every Learner.run: compile_before_data's trace is reused only for the same value.
LEARNER_PARALLEL_ITERATIONS = 10
MAX_TRAINER_CHECKPOINTS = 3


def make_learner(root_dir: str, train_step, agent) -> learner.Learner:
  """The trainer's Learner, without the trace of agent.train that tf-agents' Learner runs at its
  construction to create the optimizers' variables (seconds on one CPU): compile_before_data
  creates them with one SGD step run eagerly. Its checkpointer is the trainer's
  (trainer_checkpoints.py); it saves nothing by itself."""
  return learner.Learner(root_dir, train_step, agent, direct_sampling=True,
                         checkpoint_interval=-1, summary_interval=0,
                         max_checkpoints_to_keep=MAX_TRAINER_CHECKPOINTS,
                         run_optimizer_variable_init=False)


@contextlib.contextmanager
def variables_put_back(variables):
  """Puts `variables` back to their values before the block, and every variable created in it
  to its value at its creation."""
  values = [(variable, variable.numpy()) for variable in variables]

  def remember_initial_value(next_creator, **kwargs):
    variable = next_creator(**kwargs)
    values.append((variable, variable.numpy()))
    return variable

  with tf.variable_creator_scope(remember_initial_value):
    yield
  for variable, value in values:
    variable.assign(value)


def compile_before_data(sac_learner: learner.Learner, agent, replay: TrainerReplay,
                        episode_length: int) -> None:
  """Traces the loop of SGD steps on `replay` and the cutting of fed episodes into it, and calls
  both once, before the first SGD step, on an episode of zeros; every variable this changes is
  put back (the agent's, its optimizers', the train step; the replay is emptied).

  The optimizers' variables are created first, by one SGD step run eagerly (0.5 s of one CPU for
  point-mass), since TensorFlow traces a function that creates variables twice (2 s more). The
  first call optimizes the traced graph (0.7 s), which would otherwise be the first SGD step's."""
  item = episode_items.item_signature(replay.data_spec, episode_items.item_steps(episode_length))
  feed = replay.add_episodes.get_concrete_function(
      tf.TensorSpec([None] + item.shape.as_list(), item.dtype))
  zeros = tf.nest.map_structure(lambda spec: np.zeros(spec.shape, spec.dtype.as_numpy_dtype),
                                replay.data_spec)
  steps = episode_items.item_steps(episode_length)
  with variables_put_back(list(agent.variables) + [sac_learner.train_step]):
    feed(episode_items.pack(replay.data_spec, [zeros] * steps, steps)[None])
    with sac_learner.strategy.scope(), common.soft_device_placement():
      agent.train(replay.sample())
      sac_learner._train.get_concrete_function(  # pylint: disable=protected-access
          tf.TensorSpec([], tf.int32), replay, LEARNER_PARALLEL_ITERATIONS)
    sac_learner.run(iterations=1, iterator=replay,
                    parallel_iterations=LEARNER_PARALLEL_ITERATIONS)
  replay.clear()


def loss_values(loss_info) -> Dict[str, float]:
  """{'loss': total, 'critic_loss': ..., ...} as Python floats."""
  values = {'loss': float(loss_info.loss)}
  if hasattr(loss_info.extra, '_asdict'):
    values.update({k: float(v) for k, v in loss_info.extra._asdict().items()})
  return values


class SgdSteps:
  """Runs the Learner to a train step on the experience the workers reported (TrainerSync.train).
  The run's first SGD step is taken alone: the run's start-up ends with it (status.json)."""

  def __init__(self, sac_learner: learner.Learner, sync: TrainerSync, stop: TrainerStop,
               progress: TrainingProgress):
    self._learner = sac_learner
    self._sync = sync
    self._stop = stop
    self._progress = progress
    self._first_step_done = False
    self._last: Optional[Dict[str, float]] = None

  @property
  def train_step(self) -> int:
    return int(self._learner.train_step.numpy())

  def run_to(self, target_step: int, iteration: int) -> Optional[Dict[str, float]]:
    """The losses of the last step, or None when a stop came first; a non-finite loss or a
    replay server that does not come back stops the run."""
    if not self._first_step_done:
      if self._run(self.train_step + 1, iteration) is None:
        return None
      with self._stop.if_writing_fails('writing status.json'):
        self._progress.record_first_sgd_step()
      self._first_step_done = True
    losses = self._run(target_step, iteration) if self.train_step < target_step else self._last
    if losses is not None and not all(math.isfinite(v) for v in losses.values()):
      self._stop.fail_keeping_checkpoint(f'non-finite loss at iteration {iteration} ({losses})')
    return losses

  def _run(self, target_step: int, iteration: int) -> Optional[Dict[str, float]]:
    def run_steps(experience, steps):
      return self._learner.run(iterations=steps, iterator=experience,
                               parallel_iterations=LEARNER_PARALLEL_ITERATIONS)
    try:
      loss_info = self._sync.train(run_steps, target_step - self.train_step, iteration,
                                   self._stop.requested)
    except tf.errors.InvalidArgumentError as e:
      # SacAgent checks its losses with tf.debugging.check_numerics.
      if 'nan' not in str(e).lower():
        raise
      # Its message opens with TensorFlow's 'Graph execution error:'; the check's own line
      # names the loss.
      lines = str(e).strip().splitlines()
      cause = next((line.strip() for line in lines if 'nan' in line.lower()), lines[0])
      self._stop.fail_keeping_checkpoint(f'non-finite loss at iteration {iteration} ({cause})')
    except ReplayServerUnreachable as e:
      self._stop.fail(str(e))
    self._last = None if loss_info is None else loss_values(loss_info)
    return self._last
