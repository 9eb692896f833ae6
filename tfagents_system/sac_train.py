"""The SAC trainer program: samples Reverb, updates the policy, publishes it each iteration.

SIGTERM (svc -d) ends it after the current iteration, with a checkpoint.
"""
from concurrent import futures
import time
from typing import Optional

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from tfagents_system.common import experiment_dir
from tfagents_system.common import program_setup
from tfagents_system.protocol import iteration_sync
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerUnreachable
from tfagents_system.protocol.trainer_side import TrainerSync
from tfagents_system.trainer import iteration_timing
from tfagents_system.trainer import sgd_steps
from tfagents_system.trainer.best_policy import BestPolicy
from tfagents_system.trainer.checkpoint_trigger import CheckpointTrigger
from tfagents_system.trainer.trainer_checkpoints import TrainerCheckpoints
from tfagents_system.trainer.trainer_replay import TrainerReplay
from tfagents_system.trainer.trainer_stop import TrainerStop
from tfagents_system.trainer.training_progress import IterationRecord
from tfagents_system.trainer.training_progress import TrainingProgress

FLAGS = flags.FLAGS


def main(_):
  params = program_setup.start_program('trainer')
  tf.random.set_seed(FLAGS.run_seed)
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  agent, train_step = program_setup.create_agent(params, *program_setup.environment_specs(params))
  log_alpha = next((v for v in agent.variables if 'log_alpha' in v.name), None)
  progress = TrainingProgress(experiment, params.num_iter, params.log_period_itrs,
                              tf.summary.create_file_writer(experiment.train_dir), log_alpha,
                              params.worker_report_timeout_s)
  stop = TrainerStop(experiment, progress, train_step)
  stop.request_on_signals()

  sac_learner = sgd_steps.make_learner(experiment.root, train_step, agent)
  replay = TrainerReplay(agent.collect_data_spec, params.train_sequence_length,
                         params.replay_capacity, params.train_batch_size)
  # Compiled on a thread of its own while the trainer waits: for the replay server to start,
  # then for the workers' initial episodes (the waits sleep). Done before the checkpoint is
  # restored, since it creates the optimizers' variables, and before the replay is filled, since
  # it empties it.
  compiled = futures.ThreadPoolExecutor(1).submit(
      sgd_steps.compile_before_data, sac_learner, agent, replay, params.episode_length)
  try:
    sync = TrainerSync(
        ReplayConnection(FLAGS.reverb_address, params.replay_reconnect_timeout_s),
        replay_tables.synced_variables(agent.collect_policy.variables(), train_step),
        FLAGS.num_workers, ReportLayout.of(params), replay,
        params.train_batch_size, params.worker_report_timeout_s)
    durable_replay = sync.read_durable_replay()
  except ReplayServerUnreachable as e:
    stop.fail(str(e))
  if not progress.initial_collection_done:
    logging.info('Waiting for the initial random-policy experience')
    # The untrained policy; its train step is 0 (a checkpoint of a run stopped in its initial
    # collection is of step 0 too).
    sync.publish(iteration_sync.INIT_ITERATION)
  compiled.result()
  program_setup.freeze_startup_objects()
  sync.fill_replay(durable_replay)
  checkpoints = TrainerCheckpoints(experiment, sac_learner, agent, sync.checkpoint_replay)
  checkpoints.start_policy_export()
  steps_per_iter = params.num_steps_per_iter
  checkpoint = CheckpointTrigger(checkpoints, progress, stop,
                                 params.checkpoint_period_itrs * steps_per_iter, train_step,
                                 lambda: sync.replay_episodes)
  sgd = sgd_steps.SgdSteps(sac_learner, sync, stop, progress)
  best_policy = BestPolicy(experiment, progress, params.best_policy_score)

  first_iteration = sgd.train_step // steps_per_iter
  if progress.initial_collection_done:
    logging.info('Resuming at iteration %d (train step %d)', first_iteration, sgd.train_step)
  else:
    progress.record_initial_collection(sync.gather(iteration_sync.INIT_ITERATION, stop.requested))
    if not stop.requested.is_set():
      # Done only once its data is in a replay checkpoint: a restarted server or a resumed run
      # that finds no checkpoint collects it again. The untrained policy is not worth saving.
      checkpoint.save(policy=False)
      progress.record_initial_collection_done()

  clock = iteration_timing.PhaseClock()
  for iteration in range(first_iteration, params.num_iter):
    if params.n_eval_episodes and iteration > 0 and iteration_sync.is_eval_iteration(
        iteration, params.eval_period_itrs, params.num_iter):
      # The policy the workers evaluate (it is published before this iteration's SGD steps),
      # kept so that it can be the run's best.
      with stop.if_writing_fails('checkpointing the policy'):
        checkpoints.save_policy()
    record = None if stop.requested.is_set() else run_iteration(
        iteration, params.num_iter, steps_per_iter, sync, sgd, stop, clock)
    if record is None:
      break
    with stop.if_writing_fails('writing the summaries and status.json'):
      progress.record_iteration(record)
      best_policy.consider(iteration, record.summary)
    logging.info('Iteration %d/%d: train step %d, loss %.4f, %d env steps, eval return %s',
                 iteration + 1, params.num_iter, record.train_step, record.losses['loss'],
                 progress.env_steps, record.summary.eval_return)
    checkpoint()

  if stop.requested.is_set():
    checkpoint.save()  # always, even at the step of the last one: the replay data moved on
    finish_policy_export(checkpoints, stop)
    stop.stopped()
  checkpoint(force=True)  # unless just saved
  finish_policy_export(checkpoints, stop)
  sync.publish(params.num_iter)  # workers see that training is over
  progress.finish(sgd.train_step)
  stop.finish()


def finish_policy_export(checkpoints: TrainerCheckpoints, stop: TrainerStop) -> None:
  with stop.if_writing_fails('exporting the policy SavedModels'):
    checkpoints.finish_policy_export()


def run_iteration(iteration: int, num_iter: int, steps_per_iter: int, sync: TrainerSync,
                  sgd: sgd_steps.SgdSteps, stop: TrainerStop,
                  clock: iteration_timing.PhaseClock) -> Optional[IterationRecord]:
  """Iteration k: its policy published (unless already, at the end of k - 1), its SGD steps, the
  workers' reports of k gathered, k + 1 published so that the workers collect it while k is
  recorded and checkpointed. None when a stop came first."""
  start = time.monotonic()
  clock.lap(iteration_timing.BOOKKEEPING)  # k - 1's record and checkpoint
  if sync.published_iteration != iteration:
    sync.publish(iteration)
    clock.lap(iteration_timing.PUBLISH)
  losses = sgd.run_to((iteration + 1) * steps_per_iter, iteration)
  if losses is None:
    return None
  clock.lap(iteration_timing.SGD)
  summary = sync.gather(iteration, stop.requested)
  clock.lap(iteration_timing.BARRIER_WAIT)
  if iteration + 1 < num_iter and not stop.requested.is_set():
    sync.publish(iteration + 1)
  clock.lap(iteration_timing.PUBLISH)  # (none after the last iteration)
  return IterationRecord(iteration, summary, sgd.train_step, losses, steps_per_iter,
                         wall_seconds=time.monotonic() - start,
                         timing=iteration_timing.timing_scalars(clock.seconds, summary,
                                                                steps_per_iter))


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
