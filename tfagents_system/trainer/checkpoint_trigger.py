"""When the trainer checkpoints: every checkpoint period, as tf-agents' triggers do, and at the
moments the run's state says so (the initial collection done, a stop, the end)."""
from typing import Callable

from tf_agents.train import interval_trigger

from tfagents_system.trainer.trainer_checkpoints import TrainerCheckpoints
from tfagents_system.trainer.trainer_stop import TrainerStop
from tfagents_system.trainer.training_progress import TrainingProgress


class CheckpointTrigger:
  """Saves the trainer, the policy and the replay data together, and records it in status.json;
  a save that fails stops the run with the last good checkpoint kept."""

  def __init__(self, checkpoints: TrainerCheckpoints, progress: TrainingProgress,
               stop: TrainerStop, period_steps: int, train_step,
               replay_episodes: Callable[[], int]):
    self._checkpoints = checkpoints
    self._progress = progress
    self._stop = stop
    self._train_step = train_step
    self._replay_episodes = replay_episodes
    self._due = interval_trigger.IntervalTrigger(period_steps, self.save,
                                                 start=int(train_step.numpy()))

  def __call__(self, force: bool = False) -> None:
    """Saves when a period ended since the last save (or, with `force`, unless just saved)."""
    self._due(int(self._train_step.numpy()), force_trigger=force)

  def save(self, policy: bool = True) -> None:
    with self._stop.if_writing_fails('checkpointing'):
      self._checkpoints.save(policy)
      self._progress.record_checkpoint(int(self._train_step.numpy()), self._replay_episodes())
