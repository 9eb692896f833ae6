"""A collect/eval worker program: follows the trainer's iterations until stopped."""
import os
import time

from absl import app
from absl import flags
from absl import logging

from tfagents_system import iteration_sync
from tfagents_system import program_setup
from tfagents_system import workers

flags.DEFINE_integer('seed', None, 'Worker index; defaults to $SLURM_PROCID.')
FLAGS = flags.FLAGS


def main(_):
  worker_index = FLAGS.seed if FLAGS.seed is not None else int(os.environ.get('SLURM_PROCID', 0))
  params = program_setup.start_program(f'collect worker {worker_index}')
  worker = workers.CollectWorker(params, worker_index, FLAGS.num_workers,
                                 FLAGS.reverb_address, FLAGS.run_seed)
  sync = iteration_sync.WorkerSync(FLAGS.reverb_address)

  def reconnect():
    sync.connect()
    worker.connect()

  def next_iteration():
    return iteration_sync.retry_on_connection_errors(
        sync.wait_for_next_iteration, reconnect, 'waiting for the next iteration')

  def work(iteration, waited_s):
    if iteration == iteration_sync.INIT_ITERATION:
      report = worker.collect_initial_experience()
    else:
      start = time.monotonic()
      sync.update_policy(worker.synced_variables)
      pulled_s = time.monotonic() - start
      report = worker.run_iteration(iteration)
      report.policy_pull_seconds = pulled_s
    report.publication_wait_seconds = waited_s
    sync.report(report)
    return report

  wait_start = time.monotonic()
  iteration = next_iteration()
  logging.info('Worker %d joins at iteration %d', worker_index, iteration)
  worker.join_at(iteration)
  while iteration < params.num_iter:
    waited_s = time.monotonic() - wait_start
    report = iteration_sync.retry_on_connection_errors(
        lambda: work(iteration, waited_s), reconnect, f'working on iteration {iteration}')
    logging.info('Iteration %d: %d env steps, collect return %.3f',
                 iteration, report.env_steps,
                 report.collect_return_sum / max(1, report.collect_episodes))
    wait_start = time.monotonic()
    iteration = next_iteration()

  logging.info('Training is complete; waiting to be stopped')
  worker.close()
  while True:
    time.sleep(3600)


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
