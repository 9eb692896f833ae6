"""Everything the trainer saves together, at one train step: its own state, the policy, the replay data.

Trainer checkpoint: agent (networks, target networks, optimizers, alpha) and train step, in
tf-agents' Learner layout (<exp>/train/checkpoints). Policy checkpoint: PolicySavedModelTrigger's
layout (<exp>/policies/checkpoints/policy_checkpoint_<train step>). Replay: a Reverb checkpoint,
written by the replay server into the dir it reloads from when it (re)starts.

TensorFlow and Reverb both write a checkpoint under a temporary name and then rename it, so a
failed save (a full disk) leaves the previous checkpoint as the latest.
"""
import concurrent.futures
import os
import threading
from typing import Callable, Optional

from absl import logging
import tensorflow as tf
from tf_agents.policies import greedy_policy
from tf_agents.policies import policy_saver
from tf_agents.train import learner
from tf_agents.train import triggers

from tfagents_system.common.experiment_dir import ExperimentDir

LOWEST_PRIORITY = 19  # nice: CPU time no other thread of the program wants
# What a failed save raises: OSError and TensorFlow's errors for files, Reverb's for the replay
# checkpoint (IndexError is how it raises RESOURCE_EXHAUSTED: no space left on the device;
# RuntimeError a read-only disk, or a replay server that went away: replay_connection.py).
SAVE_ERRORS = (OSError, tf.errors.OpError, IndexError, RuntimeError)


class TrainerCheckpoints:
  """Saves all three at the current train step; the caller saves only finite losses."""

  def __init__(self, experiment: ExperimentDir, sac_learner: learner.Learner, agent,
               checkpoint_replay: Callable[[], str]):
    self._train_step = sac_learner.train_step
    self._checkpoint_replay = checkpoint_replay
    # The Learner's own Checkpointer of train/checkpoints (agent and train step; tf-agents gives
    # it no public name). It restored the latest checkpoint when the Learner was made, before
    # the optimizers had variables, and compile_before_data put those it created back to their
    # initial values: restored again, every variable gets its saved value.
    self._trainer = sac_learner._checkpointer  # pylint: disable=protected-access
    manager = self._trainer.manager
    if manager.latest_checkpoint:
      manager.checkpoint.restore(manager.latest_checkpoint)
    self._experiment, self._agent = experiment, agent
    self._checkpoint_saver: Optional[concurrent.futures.Future] = None
    self._export: Optional[concurrent.futures.Future] = None

  def start_policy_export(self) -> None:
    """Starts, on a thread of its own at the lowest CPU priority, building the saver of the
    policy checkpoints (a trace, ~0.3 s of CPU), then exporting the policy SavedModels (seconds
    of tracing and writing): they run while the trainer waits, for the initial episodes and at
    the iterations' barriers. Checkpoints wait only for the saver; the trainer waits for the
    SavedModels before it exits (finish_policy_export). Their variable values are of no
    particular step: run.py loads a policy checkpoint into them."""
    if self._export is None:
      export = concurrent.futures.ThreadPoolExecutor(1, 'policy_export')
      self._checkpoint_saver = export.submit(self._build_checkpoint_saver)
      self._export = export.submit(triggers.PolicySavedModelTrigger,
                                   self._experiment.policies_dir, self._agent, self._train_step,
                                   interval=1)

  def _build_checkpoint_saver(self) -> policy_saver.PolicySaver:
    """The saver PolicySavedModelTrigger writes its policy checkpoints with: of the raw
    policy, whose checkpoints every exported SavedModel loads."""
    # The thread's first task: the export that follows on it runs at this priority too.
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    policy = self._agent.policy
    if isinstance(policy, greedy_policy.GreedyPolicy):
      policy = policy.wrapped_policy
    return policy_saver.PolicySaver(policy, train_step=self._train_step, metadata={})

  def finish_policy_export(self) -> None:
    """Waits for the policy SavedModels (a trainer restarted before they were all written
    writes the others)."""
    self.start_policy_export()
    self._export.result()

  def save_policy(self) -> None:
    """A policy checkpoint at the current train step (unless there is one)."""
    self.start_policy_export()
    step = int(self._train_step.numpy())
    if self._experiment.policy_checkpoint_at(step) is None:
      self._agent.post_process_policy()
      self._checkpoint_saver.result().save_checkpoint(self._experiment.policy_checkpoint_path(step))

  def save(self, policy: bool = True) -> None:
    """Checkpoints the trainer, the replay data and (unless `policy` is False) the policy. The
    checkpoint that marks the initial collection done leaves the untrained policy out, so that
    the policy SavedModels are not on the way to the first SGD step (start_policy_export)."""
    step = int(self._train_step.numpy())
    self._trainer.save(step)
    if policy:
      self.save_policy()
    replay_path = self._checkpoint_replay()
    logging.info('Checkpointed trainer, %sreplay data (%s) at train step %d',
                 'policy and ' if policy else '', replay_path, step)
