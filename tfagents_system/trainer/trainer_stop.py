"""How the trainer program ends, in one place: after the iteration a SIGTERM or SIGINT came in
(svc -d, a stopped run), at the end of training, or on a failure that no retry heals."""
import contextlib
import os
import signal
import subprocess
import sys
import threading

from absl import logging

from tfagents_system.common import experiment_dir
from tfagents_system.trainer.trainer_checkpoints import SAVE_ERRORS
from tfagents_system.trainer.training_progress import TrainingProgress

# The trainer's own exit code for a failure, told apart from a crash in its log.
EXIT_FAILED = 3


class TrainerStop:
  """`requested` is a stop asked for; the trainer checks it between its steps."""

  def __init__(self, experiment: experiment_dir.ExperimentDir, progress: TrainingProgress,
               train_step):
    self._experiment = experiment
    self._progress = progress
    self._train_step = train_step
    self.requested = threading.Event()

  def request_on_signals(self) -> None:
    """SIGTERM (svc -d) and SIGINT set `requested`, the stop after the current iteration."""
    for signum in (signal.SIGTERM, signal.SIGINT):
      signal.signal(signum, lambda *_: self.requested.set())

  def fail(self, message: str) -> None:
    """Ends the run: the launcher sees the trainer down for good and says why (status.json)."""
    logging.error(message)
    try:
      self._progress.record_failure(message)
    except OSError as e:  # e.g. the disk is full: the launcher still sees the trainer down
      logging.error('Could not record the failure in status.json: %s', e)
    self._stay_down()
    exit_now(EXIT_FAILED)

  def fail_keeping_checkpoint(self, cause: str) -> None:
    self.fail(f'{cause}; training stopped, the last good checkpoint is kept in '
              f'{self._experiment.trainer_checkpoints_dir}')

  def finish(self) -> None:
    """Training is complete: supervise must not start the trainer again."""
    logging.info('Training complete at train step %d', self._train_step.numpy())
    self._stay_down()
    exit_now(0)

  def stopped(self) -> None:
    """Stopped on request, everything saved; supervise was told by whoever asked."""
    logging.info('Stopped at train step %d, checkpointed', self._train_step.numpy())
    exit_now(0)

  @contextlib.contextmanager
  def if_writing_fails(self, what: str):
    """A run that cannot write its checkpoints or its record (a full disk) stops rather than
    train on unsaved; TensorFlow and Reverb write then rename, so the last checkpoint is intact."""
    try:
      yield
    except SAVE_ERRORS as e:
      self.fail_keeping_checkpoint(
          f'{what} failed at train step {int(self._train_step.numpy())} '
          f'({type(e).__name__}: {str(e).strip().splitlines()[0]})')

  def _stay_down(self) -> None:
    subprocess.run(['svc', '-d', self._experiment.service_dir(experiment_dir.TRAIN_PROGRAM)],
                   check=False)


def exit_now(code: int) -> None:
  """Exits once everything is saved, without the interpreter's clean-up: the destructor of a
  Reverb dataset iterator can wait forever on its sampling threads (seen at the end of a run)."""
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)  # pylint: disable=protected-access
