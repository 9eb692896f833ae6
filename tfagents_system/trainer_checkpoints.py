"""Everything the trainer saves together, at one train step: its own state, the policy, the replay data.

Trainer checkpoint: agent (networks, target networks, optimizers, alpha) and train step, in
tf-agents' Learner layout (<exp>/train/checkpoints). Policy checkpoint: PolicySavedModelTrigger's
layout (<exp>/policies/checkpoints/policy_checkpoint_<train step>). Replay: a Reverb checkpoint,
written by the replay server into the dir it reloads from when it (re)starts.

TensorFlow and Reverb both write a checkpoint under a temporary name and then rename it, so a
failed save (a full disk) leaves the previous checkpoint as the latest.
"""
from typing import Callable

from absl import logging
import tensorflow as tf
from tf_agents.train import triggers
from tf_agents.utils import common

from tfagents_system.experiment_dir import ExperimentDir

MAX_TRAINER_CHECKPOINTS = 3
# What a failed save raises: OSError and TensorFlow's errors for files, Reverb's for the replay
# checkpoint (IndexError is how it raises RESOURCE_EXHAUSTED: no space left on the device;
# RuntimeError a read-only disk, or a replay server that went away: replay_connection.py).
SAVE_ERRORS = (OSError, tf.errors.OpError, IndexError, RuntimeError)


class TrainerCheckpoints:
  """Saves all three at the current train step; the caller saves only finite losses."""

  def __init__(self, experiment: ExperimentDir, agent, train_step,
               checkpoint_replay: Callable[[], str]):
    self._train_step = train_step
    self._checkpoint_replay = checkpoint_replay
    # Restores the latest trainer checkpoint, if there is one.
    self._trainer = common.Checkpointer(
        experiment.trainer_checkpoints_dir, max_to_keep=MAX_TRAINER_CHECKPOINTS,
        agent=agent, train_step=train_step)
    self._trainer.initialize_or_restore()
    self._experiment, self._agent = experiment, agent
    self._policy = None

  def save(self, policy: bool = True) -> None:
    """Checkpoints the trainer, the replay data and (unless `policy` is False) the policy. The
    policy SavedModels, seconds of work, are written with the first policy checkpoint: the
    checkpoint that marks the initial collection done leaves the policy out, so that they are
    not on the way to the first SGD step."""
    step = int(self._train_step.numpy())
    self._trainer.save(step)
    if policy:
      if self._policy is None:
        self._policy = triggers.PolicySavedModelTrigger(
            self._experiment.policies_dir, self._agent, self._train_step, interval=1,
            start=step - 1)  # so that it saves this step's policy checkpoint too
      self._policy(step)
    replay_path = self._checkpoint_replay()
    logging.info('Checkpointed trainer, %sreplay data (%s) at train step %d',
                 'policy and ' if policy else '', replay_path, step)
