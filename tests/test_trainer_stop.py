"""How the trainer program ends (trainer/trainer_stop.py), in a process of its own as sac_train."""
import json
import os
import signal
import subprocess
import sys

from training_run import REPO

# A trainer's stop path on its own: TrainingProgress and TrainerStop as sac_train makes them.
TRAINER = '''
import signal, sys, time
import tensorflow as tf
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.trainer.trainer_stop import TrainerStop
from tfagents_system.trainer.training_progress import TrainingProgress
experiment = ExperimentDir(sys.argv[1])
progress = TrainingProgress(experiment, 10, 1, tf.summary.create_file_writer(experiment.train_dir),
                            None, 60)
stop = TrainerStop(experiment, progress, tf.Variable(7, dtype=tf.int64))
stop.request_on_signals()
case = sys.argv[2]
if case == 'write_fails':
  with stop.if_writing_fails('checkpointing'):
    raise OSError(28, 'No space left on device')
elif case == 'signal':
  print('ready', flush=True)
  while not stop.requested.is_set():
    time.sleep(0.05)
  stop.stopped()
elif case == 'finish':
  stop.finish()
print('not stopped', flush=True)
'''


def run_trainer(tmp_path, case, **kwargs):
  return subprocess.Popen([sys.executable, '-c', TRAINER, str(tmp_path), case], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kwargs)


def status(tmp_path):
  with open(tmp_path / 'status.json') as f:
    return json.load(f)


def test_a_save_that_fails_stops_the_trainer_naming_what_failed_and_the_checkpoint_kept(tmp_path):
  trainer = run_trainer(tmp_path, 'write_fails')
  out, err = trainer.communicate(timeout=120)
  assert trainer.returncode == 3, err
  assert 'not stopped' not in out
  failed = status(tmp_path)['failed']
  assert failed.startswith('checkpointing failed at train step 7 (OSError: ')
  assert 'No space left on device' in failed
  assert failed.endswith(f'the last good checkpoint is kept in {tmp_path}/train/checkpoints')


def test_sigterm_and_sigint_end_the_trainer_cleanly_where_it_checks(tmp_path):
  for signum in (signal.SIGTERM, signal.SIGINT):
    trainer = run_trainer(tmp_path, 'signal')
    assert trainer.stdout.readline() == 'ready\n'
    trainer.send_signal(signum)
    out, err = trainer.communicate(timeout=60)
    assert trainer.returncode == 0, err
    assert 'not stopped' not in out


def test_the_end_of_training_exits_0(tmp_path):
  trainer = run_trainer(tmp_path, 'finish')
  out, err = trainer.communicate(timeout=120)
  assert trainer.returncode == 0, err
  assert 'not stopped' not in out
