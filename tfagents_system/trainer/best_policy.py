"""The run's best policy so far: of the evaluated policies that have a policy checkpoint, the one
whose evaluation scored highest (TrainParams.best_policy_score: the eval return or an eval
measure) on the curriculum values the workers evaluate on now.

SAC's greedy policy can be a good walker at one checkpoint and fall at the next; a user who stops
a run wants the best one, by name (run.py --checkpoint best). Scores on other physics do not
compare: the first evaluation on new curriculum values is the best on them.
"""
import os
from typing import Any, Dict, Optional

from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.train_params_base import EVAL_RETURN
from tfagents_system.trainer.training_progress import TrainingProgress


def score(summary: IterationSummary, score_name: str) -> Optional[float]:
  """The iteration's evaluation score, or None without an evaluation."""
  if score_name == EVAL_RETURN:
    return summary.eval_return
  return summary.eval_measures.get(score_name)


def is_better(candidate: Dict[str, Any], best: Optional[Dict[str, Any]]) -> bool:
  return (best is None or candidate['curriculum'] != best['curriculum'] or
          candidate['score'] > best['score'])


class BestPolicy:
  """Keeps status.json's best_policy (through TrainingProgress) up to date."""

  def __init__(self, experiment: ExperimentDir, progress: TrainingProgress, score_name: str):
    self._experiment = experiment
    self._progress = progress
    self._score_name = score_name

  def consider(self, iteration: int, summary: IterationSummary) -> None:
    """The evaluation of `iteration`, if it had one: its policy becomes the best if it scored
    higher (the trainer checkpoints the policy of every iteration that evaluates)."""
    value = score(summary, self._score_name)
    train_step = summary.eval_policy_train_step
    checkpoint = None if train_step is None else self._experiment.policy_checkpoint_at(train_step)
    if value is None or checkpoint is None:
      return
    candidate = {'checkpoint': os.path.basename(checkpoint), 'train_step': train_step,
                 'iteration': iteration, 'score_name': self._score_name, 'score': value,
                 'curriculum': summary.curriculum}
    if is_better(candidate, self._progress.best_policy):
      self._progress.record_best_policy(candidate)
