"""The trainer's record of a run: a restarted trainer redoes the iterations since its checkpoint
and summarizes none of them twice, even one whose summaries were flushed by a trainer killed
before it wrote status.json; the eval episodes' measures are recorded with their return."""
import time

import pytest
import tensorflow as tf

from tfagents_system.common import summary_tags
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import progress_display
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.trainer.training_progress import IterationRecord
from tfagents_system.trainer.training_progress import TrainingProgress

from training_run import read_scalars

STEPS = 10


def trainer_start(experiment):
  """The TrainingProgress of a (re)started trainer, as sac_train makes it."""
  time.sleep(1.1)  # events files are named by the second their writer started
  return TrainingProgress(experiment, num_iter=10, log_period_itrs=1,
                          train_writer=tf.summary.create_file_writer(experiment.train_dir),
                          alpha=None, worker_report_timeout_s=60)


def record(progress, iteration):
  report = WorkerReport(0, iteration, env_steps=50, collect_episodes=1, collect_return_sum=-3.0,
                        collect_length_sum=50, eval_episodes=1, eval_return_sum=-1.0,
                        eval_length_sum=50, eval_measure_sums={'final_distance': 0.1 * iteration})
  progress.record_iteration(IterationRecord(
      iteration, IterationSummary([report], []), (iteration + 1) * STEPS, losses={'loss': 1.0},
      sgd_steps=STEPS, wall_seconds=0.1, timing={}))


def test_iterations_redone_after_a_restart_are_summarized_once(tmp_path):
  experiment = ExperimentDir(str(tmp_path))
  progress = trainer_start(experiment)
  for iteration in range(4):
    record(progress, iteration)
  # Killed after iteration 3's summaries were flushed, before status.json said so.
  status = experiment.read_status()
  status['iteration'] = 3
  experiment.write_status(status)

  restarted = trainer_start(experiment)  # from its checkpoint at iteration 2
  for iteration in range(2, 6):
    record(restarted, iteration)

  train = read_scalars(experiment.train_dir)
  assert sorted(int(v) for _, v in train[summary_tags.ITERATION]) == list(range(6))
  evaluated = read_scalars(experiment.eval_dir)[summary_tags.RETURN]
  assert sorted(step for step, _ in evaluated) == [(i + 1) * STEPS for i in range(6)]
  assert experiment.read_status()['iteration'] == 6


def test_the_eval_episodes_measures_are_summarized_and_shown_with_the_eval_return(tmp_path):
  experiment = ExperimentDir(str(tmp_path))
  progress = trainer_start(experiment)
  for iteration in range(3):
    record(progress, iteration)
  measured = read_scalars(experiment.eval_dir)[summary_tags.EPISODE_MEASURES_PREFIX +
                                               'final_distance']
  assert [(step, round(value, 6)) for step, value in measured] == [
      (10, 0.0), (20, 0.1), (30, 0.2)]
  status = experiment.read_status()
  assert status['eval_measures'] == {'final_distance': pytest.approx(0.2)}
  assert 'eval return -1.00 (final_distance 0.20) |' in progress_display.format_progress(status)
