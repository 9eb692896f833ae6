"""A collect/eval worker program: follows the trainer's iterations until stopped."""
import os
import time

from absl import app
from absl import flags
from absl import logging

from tfagents_system import workers
from tfagents_system.common import experiment_dir
from tfagents_system.common import program_setup
from tfagents_system.common.cpu_turns import CpuTurns
from tfagents_system.protocol import worker_side
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.replay_connection import ReplayConnection

flags.DEFINE_integer('worker_index', None, 'Index of this worker; defaults to $SLURM_PROCID.')
FLAGS = flags.FLAGS


def main(_):
  worker_index = (FLAGS.worker_index if FLAGS.worker_index is not None
                  else int(os.environ.get('SLURM_PROCID', 0)))
  program = experiment_dir.collect_program(worker_index)
  params = program_setup.start_program(f'collect worker {worker_index}')
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  start = experiment.count_start(program)
  connection = ReplayConnection(FLAGS.reverb_address, params.replay_reconnect_timeout_s)
  # User code (env_ctor, reset, step, set_state) raises as it is: the program crashes with
  # the traceback in its log, and the launcher ends a run whose worker keeps crashing.
  worker = workers.CollectWorker(params, worker_index, FLAGS.num_workers, connection,
                                 FLAGS.run_seed, start)
  sync = worker_side.WorkerSync(connection, ReportLayout.of(params))

  # Half the trainer's wait for a report: a worker behind a CPU-mate stuck in its turn still
  # reports in time.
  turns = CpuTurns(experiment.cpu_turns_dir, params.worker_report_timeout_s / 2)
  workers.follow_iterations(worker, sync, connection, turns, params.num_iter)
  logging.info('Training is complete; waiting to be stopped')
  worker.close()
  while True:
    time.sleep(3600)


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
