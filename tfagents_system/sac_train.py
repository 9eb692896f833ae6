"""The SAC trainer program: samples Reverb, updates the policy, publishes it each iteration.

SIGTERM (svc -d) ends it after the current iteration, with a checkpoint.
"""
import contextlib
import math
import signal
import subprocess
import sys
import threading
import time

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf
from tf_agents.train import interval_trigger
from tf_agents.train import learner

from tfagents_system import experiment_dir
from tfagents_system import iteration_sync
from tfagents_system import iteration_timing
from tfagents_system import program_setup
from tfagents_system.curriculum import Curriculum
from tfagents_system.trainer_checkpoints import SAVE_ERRORS
from tfagents_system.trainer_checkpoints import TrainerCheckpoints
from tfagents_system.training_progress import TrainingProgress

FLAGS = flags.FLAGS
EXIT_FAILED = 3


class NonFiniteLoss(Exception):
  pass


def loss_values(loss_info) -> dict:
  """{'loss': total, 'critic_loss': ..., ...} as Python floats."""
  values = {'loss': float(loss_info.loss)}
  if hasattr(loss_info.extra, '_asdict'):
    values.update({k: float(v) for k, v in loss_info.extra._asdict().items()})
  return values


def main(_):
  params = program_setup.start_program('trainer')
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  stop_requested = threading.Event()
  for signum in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signum, lambda *_: stop_requested.set())

  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  sync = iteration_sync.TrainerSync(
      FLAGS.reverb_address,
      iteration_sync.synced_variables(agent.collect_policy.variables(), train_step),
      FLAGS.num_workers)

  def experience_iterator():
    return iter(iteration_sync.experience_dataset(
        FLAGS.reverb_address, params.train_batch_size, params.prefetch_batches))

  # Summaries and checkpoints are written here, per iteration, so that a
  # non-finite loss is never checkpointed and no iteration is summarized twice.
  sac_learner = learner.Learner(experiment.root, train_step, agent,
                                checkpoint_interval=-1, summary_interval=0)
  steps_per_iter = params.num_steps_per_iter

  def checkpoint_replay():
    return iteration_sync.retry_on_connection_errors(
        sync.client.checkpoint, sync.connect, 'checkpointing the replay buffer', attempts=3)

  checkpoints = TrainerCheckpoints(experiment, agent, train_step, checkpoint_replay)
  log_alpha = next((v for v in agent.variables if 'log_alpha' in v.name), None)
  progress = TrainingProgress(experiment, params.num_iter, params.log_period_itrs,
                              Curriculum.from_env_config(params.env_config),
                              tf.summary.create_file_writer(experiment.train_dir), log_alpha)

  def stop_with_error(message):
    """Ends the run: the launcher sees the trainer down for good and says why."""
    logging.error(message)
    try:
      progress.record_failure(message)
    except OSError as e:  # e.g. the disk is full: the launcher still sees the trainer down
      logging.error('Could not record the failure in status.json: %s', e)
    subprocess.run(['svc', '-d', experiment.service_dir(experiment_dir.TRAIN_PROGRAM)],
                   check=False)
    sys.exit(EXIT_FAILED)

  @contextlib.contextmanager
  def stopping_if_writing_fails(what):
    """A run that cannot write its checkpoints or its record (a full disk) stops rather than
    train on unsaved; TensorFlow and Reverb write then rename, so the last checkpoint is intact."""
    try:
      yield
    except SAVE_ERRORS as e:
      stop_with_error(f'{what} failed at train step {int(train_step.numpy())} '
                      f'({type(e).__name__}: {str(e).strip().splitlines()[0]}); training stopped, '
                      f'the last good checkpoint is kept in {experiment.trainer_checkpoints_dir}')

  def save_checkpoints():
    with stopping_if_writing_fails('checkpointing'):
      checkpoints.save()
      replay_items = sync.client.server_info()[iteration_sync.EXPERIENCE_TABLE].current_size
      progress.record_checkpoint(int(train_step.numpy()), replay_items)

  checkpoint_due = interval_trigger.IntervalTrigger(
      params.checkpoint_period_itrs * steps_per_iter, save_checkpoints,
      start=int(train_step.numpy()))

  iterator = experience_iterator()

  def train_steps(target_step):
    """SGD steps up to `target_step`; returns the last loss. Survives a replay server restart."""
    nonlocal iterator
    while True:
      remaining = target_step - int(train_step.numpy())
      try:
        if remaining > 0:
          return sac_learner.run(iterations=remaining, iterator=iterator)
        return sac_learner.loss(next(iterator))  # the steps were done when sampling broke
      except iteration_sync.CONNECTION_ERRORS as e:
        logging.warning('Sampling failed (%s); reconnecting', type(e).__name__)
        sync.connect()
        iterator = experience_iterator()
      except tf.errors.InvalidArgumentError as e:
        # SacAgent checks its losses with tf.debugging.check_numerics.
        if 'nan' not in str(e).lower():
          raise
        raise NonFiniteLoss(str(e).strip().splitlines()[0]) from None

  def stop_for_non_finite_loss(iteration, detail):
    stop_with_error(f'non-finite loss at iteration {iteration} ({detail}); training stopped, '
                    f'the last good checkpoint is kept in {experiment.trainer_checkpoints_dir}')

  first_iteration = int(train_step.numpy()) // steps_per_iter
  if progress.initial_collection_done:
    logging.info('Resuming at iteration %d (train step %d)', first_iteration, train_step.numpy())
  else:
    logging.info('Waiting for the initial random-policy experience')
    sync.publish(iteration_sync.INIT_ITERATION)
    summary = sync.gather(iteration_sync.INIT_ITERATION, params.worker_report_timeout_s,
                          stop_requested)
    progress.record_initial_collection(summary, int(train_step.numpy()))

  clock = iteration_timing.PhaseClock()
  for iteration in range(first_iteration, params.num_iter):
    if stop_requested.is_set():
      break
    start = time.monotonic()
    clock.lap(iteration_timing.BOOKKEEPING)
    sync.publish(iteration)
    clock.lap(iteration_timing.PUBLISH)
    try:
      if iteration == first_iteration:
        # One step alone first: the run's start-up time ends with it (status.json).
        train_steps(int(train_step.numpy()) + 1)
        with stopping_if_writing_fails('writing status.json'):
          progress.record_first_sgd_step()
      losses = loss_values(train_steps((iteration + 1) * steps_per_iter))
    except NonFiniteLoss as e:
      stop_for_non_finite_loss(iteration, str(e))
    if not all(math.isfinite(v) for v in losses.values()):
      stop_for_non_finite_loss(iteration, losses)
    clock.lap(iteration_timing.SGD)
    summary = sync.gather(iteration, params.worker_report_timeout_s, stop_requested)
    clock.lap(iteration_timing.BARRIER_WAIT)
    with stopping_if_writing_fails('writing the summaries and status.json'):
      progress.record_timing(iteration, int(train_step.numpy()), iteration_timing.timing_scalars(
          clock.seconds, summary, steps_per_iter))
      progress.record_iteration(iteration, summary, int(train_step.numpy()),
                                time.monotonic() - start, steps_per_iter, losses)
    logging.info('Iteration %d/%d: train step %d, loss %.4f, %d env steps, eval return %s',
                 iteration + 1, params.num_iter, train_step.numpy(), losses['loss'],
                 progress.env_steps, summary.eval_return)
    checkpoint_due(int(train_step.numpy()))

  checkpoint_due(int(train_step.numpy()), force_trigger=True)  # unless just saved
  if stop_requested.is_set():
    logging.info('Stopped at train step %d, checkpointed', train_step.numpy())
    return
  sync.publish(params.num_iter)  # workers see that training is over
  progress.finish(int(train_step.numpy()))
  logging.info('Training complete at train step %d', train_step.numpy())
  # Done for good: tell supervise not to start the trainer again.
  subprocess.run(['svc', '-d', experiment.service_dir(experiment_dir.TRAIN_PROGRAM)], check=False)


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
