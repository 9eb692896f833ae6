"""The SAC trainer program: samples Reverb, updates the policy, publishes it each iteration.

SIGTERM (svc -d) ends it after the current iteration, with a checkpoint.
"""
import contextlib
from concurrent import futures
import math
import os
import signal
import subprocess
import sys
import threading
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.train import interval_trigger
from tf_agents.train import learner
from tf_agents.utils import common

from tfagents_system.common import experiment_dir
from tfagents_system.common import program_setup
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.protocol import episode_items
from tfagents_system.protocol import iteration_sync
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol import trainer_side
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerUnreachable
from tfagents_system.trainer import iteration_timing
from tfagents_system.trainer.trainer_checkpoints import SAVE_ERRORS
from tfagents_system.trainer.trainer_checkpoints import TrainerCheckpoints
from tfagents_system.trainer.trainer_replay import TrainerReplay
from tfagents_system.trainer.training_progress import TrainingProgress

FLAGS = flags.FLAGS
EXIT_FAILED = 3


def loss_values(loss_info) -> dict:
  """{'loss': total, 'critic_loss': ..., ...} as Python floats."""
  values = {'loss': float(loss_info.loss)}
  if hasattr(loss_info.extra, '_asdict'):
    values.update({k: float(v) for k, v in loss_info.extra._asdict().items()})
  return values


# Of every Learner.run: trace_before_data's trace is reused only for the same value.
LEARNER_PARALLEL_ITERATIONS = 10


def make_learner(root_dir: str, train_step, agent) -> learner.Learner:
  """The trainer's Learner, without the trace of agent.train that tf-agents' Learner runs at its
  construction to create the optimizers' variables (seconds on one CPU): compile_before_data
  creates them with one SGD step run eagerly."""
  return learner.Learner(root_dir, train_step, agent, direct_sampling=True,
                         checkpoint_interval=-1, summary_interval=0,
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


def main(_):
  params = program_setup.start_program('trainer')
  tf.random.set_seed(FLAGS.run_seed)
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  stop_requested = threading.Event()
  for signum in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signum, lambda *_: stop_requested.set())

  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  curriculum = Curriculum.from_env_config(params.env_config)
  log_alpha = next((v for v in agent.variables if 'log_alpha' in v.name), None)
  progress = TrainingProgress(experiment, params.num_iter, params.log_period_itrs,
                              tf.summary.create_file_writer(experiment.train_dir), log_alpha,
                              params.worker_report_timeout_s)

  def stop_with_error(message):
    """Ends the run: the launcher sees the trainer down for good and says why."""
    logging.error(message)
    try:
      progress.record_failure(message)
    except OSError as e:  # e.g. the disk is full: the launcher still sees the trainer down
      logging.error('Could not record the failure in status.json: %s', e)
    subprocess.run(['svc', '-d', experiment.service_dir(experiment_dir.TRAIN_PROGRAM)],
                   check=False)
    exit_now(EXIT_FAILED)

  # Summaries and checkpoints are written here, per iteration, so that a
  # non-finite loss is never checkpointed and no iteration is summarized twice.
  sac_learner = make_learner(experiment.root, train_step, agent)
  replay = TrainerReplay(agent.collect_data_spec, params.train_sequence_length,
                         params.replay_capacity, params.train_batch_size)
  # Compiled on a thread of its own while the trainer waits: for the replay server to start,
  # then for the workers' initial episodes (the waits sleep). Done before the checkpoint is
  # restored, since it creates the optimizers' variables, and before the replay is filled, since
  # it empties it.
  compiled = futures.ThreadPoolExecutor(1).submit(
      compile_before_data, sac_learner, agent, replay, params.episode_length)
  try:
    sync = trainer_side.TrainerSync(
        ReplayConnection(FLAGS.reverb_address, params.replay_reconnect_timeout_s),
        replay_tables.synced_variables(agent.collect_policy.variables(), train_step),
        FLAGS.num_workers, curriculum.names, replay, params.train_batch_size,
        params.worker_report_timeout_s)
    durable_replay = sync.read_durable_replay()
  except ReplayServerUnreachable as e:
    stop_with_error(str(e))

  steps_per_iter = params.num_steps_per_iter
  if not progress.initial_collection_done:
    logging.info('Waiting for the initial random-policy experience')
    # The untrained policy; its train step is 0 (a checkpoint of a run stopped in its initial
    # collection is of step 0 too).
    sync.publish(iteration_sync.INIT_ITERATION)
  compiled.result()
  sync.fill_replay(durable_replay)
  checkpoints = TrainerCheckpoints(experiment, agent, train_step, sync.checkpoint_replay)
  checkpoints.start_policy_export()

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

  def save_checkpoints(policy=True):
    with stopping_if_writing_fails('checkpointing'):
      checkpoints.save(policy)
      progress.record_checkpoint(int(train_step.numpy()), sync.replay_episodes)

  checkpoint_due = interval_trigger.IntervalTrigger(
      params.checkpoint_period_itrs * steps_per_iter, save_checkpoints,
      start=int(train_step.numpy()))

  def train_steps(target_step, iteration):
    """SGD steps up to `target_step`; returns the last loss, or None when a stop came first."""
    def run_steps(experience, steps):
      return sac_learner.run(iterations=steps, iterator=experience,
                             parallel_iterations=LEARNER_PARALLEL_ITERATIONS)
    try:
      return sync.train(run_steps, target_step - int(train_step.numpy()), iteration,
                        stop_requested)
    except tf.errors.InvalidArgumentError as e:
      # SacAgent checks its losses with tf.debugging.check_numerics.
      if 'nan' not in str(e).lower():
        raise
      stop_for_non_finite_loss(iteration, str(e).strip().splitlines()[0])
    except ReplayServerUnreachable as e:
      stop_with_error(str(e))

  def stop_for_non_finite_loss(iteration, detail):
    stop_with_error(f'non-finite loss at iteration {iteration} ({detail}); training stopped, '
                    f'the last good checkpoint is kept in {experiment.trainer_checkpoints_dir}')

  first_iteration = int(train_step.numpy()) // steps_per_iter
  if progress.initial_collection_done:
    logging.info('Resuming at iteration %d (train step %d)', first_iteration, train_step.numpy())
  else:
    progress.record_initial_collection(sync.gather(iteration_sync.INIT_ITERATION, stop_requested))
    if not stop_requested.is_set():
      # Done only once its data is in a replay checkpoint: a restarted server or a resumed run
      # that finds no checkpoint collects it again. The untrained policy is not worth saving.
      save_checkpoints(policy=False)
      progress.record_initial_collection_done()

  clock = iteration_timing.PhaseClock()
  for iteration in range(first_iteration, params.num_iter):
    if stop_requested.is_set():
      break
    start = time.monotonic()
    clock.lap(iteration_timing.BOOKKEEPING)
    if sync.published_iteration != iteration:  # not already, at the end of the one before
      sync.publish(iteration)
      clock.lap(iteration_timing.PUBLISH)
    if iteration == first_iteration:
      # One step alone first: the run's start-up time ends with it (status.json).
      loss_info = train_steps(int(train_step.numpy()) + 1, iteration)
      if loss_info is None:
        break
      with stopping_if_writing_fails('writing status.json'):
        progress.record_first_sgd_step()
    if int(train_step.numpy()) < (iteration + 1) * steps_per_iter:
      loss_info = train_steps((iteration + 1) * steps_per_iter, iteration)
      if loss_info is None:
        break
    losses = loss_values(loss_info)
    if not all(math.isfinite(v) for v in losses.values()):
      stop_for_non_finite_loss(iteration, losses)
    clock.lap(iteration_timing.SGD)
    summary = sync.gather(iteration, stop_requested)
    clock.lap(iteration_timing.BARRIER_WAIT)
    if iteration + 1 < params.num_iter and not stop_requested.is_set():
      # The workers collect the next iteration while this one is recorded and checkpointed.
      sync.publish(iteration + 1)
    clock.lap(iteration_timing.PUBLISH)  # (none after the last iteration)
    with stopping_if_writing_fails('writing the summaries and status.json'):
      progress.record_iteration(iteration, summary, int(train_step.numpy()),
                                time.monotonic() - start, steps_per_iter, losses,
                                iteration_timing.timing_scalars(clock.seconds, summary,
                                                                steps_per_iter))
    logging.info('Iteration %d/%d: train step %d, loss %.4f, %d env steps, eval return %s',
                 iteration + 1, params.num_iter, train_step.numpy(), losses['loss'],
                 progress.env_steps, summary.eval_return)
    checkpoint_due(int(train_step.numpy()))

  if stop_requested.is_set():
    save_checkpoints()  # always, even at the step of the last one: the replay data moved on
    logging.info('Stopped at train step %d, checkpointed', train_step.numpy())
    exit_now(0)
  checkpoint_due(int(train_step.numpy()), force_trigger=True)  # unless just saved
  sync.publish(params.num_iter)  # workers see that training is over
  progress.finish(int(train_step.numpy()))
  logging.info('Training complete at train step %d', train_step.numpy())
  # Done for good: tell supervise not to start the trainer again.
  subprocess.run(['svc', '-d', experiment.service_dir(experiment_dir.TRAIN_PROGRAM)], check=False)
  exit_now(0)


def exit_now(code: int) -> None:
  """Exits once everything is saved, without the interpreter's clean-up: the destructor of a
  Reverb dataset iterator can wait forever on its sampling threads (seen at the end of a run)."""
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)  # pylint: disable=protected-access


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
