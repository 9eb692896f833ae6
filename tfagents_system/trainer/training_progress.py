"""The trainer's record of a run: TensorBoard summaries per iteration and status.json."""
import dataclasses
import os
import time
from typing import Any, Dict, Optional

import tensorflow as tf

from tfagents_system.common import summary_tags as tags
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.protocol.iteration_sync import IterationSummary


@dataclasses.dataclass
class IterationRecord:
  """What the trainer records of an iteration once it is over."""
  iteration: int
  summary: IterationSummary  # the workers' reports
  train_step: int
  losses: Dict[str, float]  # of its last SGD step
  sgd_steps: int
  wall_seconds: float
  timing: Dict[str, float]  # where its time went, RunTime/* (iteration_timing.timing_scalars)


class TrainingProgress:
  """Adds up the workers' reports and writes what a user watches a run by."""

  def __init__(self, experiment: ExperimentDir, num_iter: int, log_period_itrs: int,
               train_writer, alpha: Optional[tf.Variable], worker_report_timeout_s: float):
    self._experiment = experiment
    self._num_iter = num_iter
    self._log_period_itrs = log_period_itrs
    self._train_writer = train_writer
    self._eval_writer = tf.summary.create_file_writer(experiment.eval_dir)
    self._alpha = alpha
    # A restarted trainer carries on counting from where the last one was.
    self._status = experiment.read_status() or {'env_steps': 0, 'eval_return': None,
                                                'eval_iteration': None, 'iteration': 0,
                                                'initial_collection_done': False}
    # The launcher's stall bound must outlast the trainer's longest wait, for worker reports.
    self._status.update(num_iter=num_iter, done=False, failed=None,
                        worker_report_timeout_s=worker_report_timeout_s)
    # A restarted trainer redoes the iterations since its checkpoint, whose summaries were
    # written the first time (or only flushed: it may have been killed before it wrote
    # status.json), and does not write them twice.
    self._summarized_train_step = last_summarized_step(experiment.train_dir)
    self._summarized_eval_step = last_summarized_step(experiment.eval_dir)
    self._start = time.monotonic()
    self._iterations_run = 0

  @property
  def env_steps(self) -> int:
    return self._status['env_steps']

  @property
  def initial_collection_done(self) -> bool:
    return self._status['initial_collection_done']

  def record_initial_collection(self, summary: IterationSummary) -> None:
    self._status['env_steps'] += summary.env_steps
    self._update_status(missing_workers=summary.missing_workers)

  def record_initial_collection_done(self) -> None:
    """Once the initial collection's data is in a replay checkpoint."""
    self._update_status(initial_collection_done=True)

  def record_iteration(self, record: IterationRecord) -> None:
    """An iteration's summaries and status.json."""
    iteration, summary, train_step = record.iteration, record.summary, record.train_step
    wall_seconds, timing = record.wall_seconds, record.timing
    self._iterations_run += 1
    self._status['env_steps'] += summary.env_steps
    env_steps_per_sec = summary.env_steps / wall_seconds
    sgd_steps_per_sec = record.sgd_steps / wall_seconds
    log_due = iteration % self._log_period_itrs == 0 or iteration == self._num_iter - 1
    if log_due and train_step > self._summarized_train_step:
      with self._train_writer.as_default(step=train_step):
        scalars = {tags.ITERATION: iteration, tags.ENV_STEPS: self.env_steps,
                   tags.ENV_STEPS_PER_SEC: env_steps_per_sec,
                   tags.SGD_STEPS_PER_SEC: sgd_steps_per_sec,
                   tags.RETURN: summary.collect_return,
                   tags.EPISODE_LENGTH: summary.collect_episode_length}
        scalars.update({tags.LOSSES_PREFIX + name: value for name, value in record.losses.items()})
        if self._alpha is not None:
          scalars[tags.ALPHA] = tf.exp(self._alpha)
        for name, value in summary.curriculum.items():
          scalars[tags.CURRICULUM_PREFIX + name] = value
        scalars.update(timing)
        _write_scalars(scalars)
    if summary.eval_return is not None and train_step > self._summarized_eval_step:
      with self._eval_writer.as_default(step=train_step):
        _write_scalars({tags.RETURN: summary.eval_return,
                        tags.EPISODE_LENGTH: summary.eval_episode_length,
                        tags.ENV_STEPS: self.env_steps,
                        **{tags.EPISODE_MEASURES_PREFIX + name: value
                           for name, value in summary.eval_measures.items()}})
      self._status.update(eval_return=summary.eval_return, eval_iteration=iteration,
                          eval_measures=summary.eval_measures)
    self._train_writer.flush()
    self._eval_writer.flush()
    seconds_per_iteration = (time.monotonic() - self._start) / self._iterations_run
    self._update_status(
        iteration=max(iteration + 1, self._status['iteration']), train_step=train_step,
        collect_return=summary.collect_return,
        env_steps_per_sec=env_steps_per_sec, sgd_steps_per_sec=sgd_steps_per_sec,
        eta_s=seconds_per_iteration * (self._num_iter - iteration - 1),
        missing_workers=summary.missing_workers, timing=timing)

  def record_first_sgd_step(self) -> None:
    """When the run's first SGD step was done (its start-up time, bench/startup.py)."""
    if 'first_sgd_step_at' not in self._status:
      self._update_status(first_sgd_step_at=time.time())

  def record_checkpoint(self, train_step: int, replay_episodes: int) -> None:
    self._update_status(checkpoint={'train_step': train_step, 'replay_episodes': replay_episodes})

  @property
  def best_policy(self) -> Optional[Dict[str, Any]]:
    return self._status.get('best_policy')

  def record_best_policy(self, best: Dict[str, Any]) -> None:
    """best_policy.BestPolicy's record: checkpoint, train_step, iteration, score_name, score,
    curriculum."""
    self._update_status(best_policy=best)

  def record_failure(self, message: str) -> None:
    self._update_status(failed=message)

  def finish(self, train_step: int) -> None:
    self._train_writer.flush()
    self._eval_writer.flush()
    self._update_status(done=True, train_step=train_step, eta_s=0.0)

  def _update_status(self, **fields) -> None:
    self._status.update(fields, updated=time.time())
    self._experiment.write_status(self._status)


def last_summarized_step(log_dir: str) -> int:
  """The largest step of the summaries in `log_dir` (-1 if none): those of the newest events file
  that holds any, since every trainer start writes a file of its own and steps only grow."""
  for path in sorted(tf.io.gfile.glob(os.path.join(log_dir, 'events.out.tfevents.*')),
                     reverse=True):
    steps = [event.step for event in tf.compat.v1.train.summary_iterator(path)
             if event.HasField('summary')]
    if steps:
      return max(steps)
  return -1


def _write_scalars(scalars) -> None:
  for name, value in scalars.items():
    if value is not None:
      tf.summary.scalar(name, value)
