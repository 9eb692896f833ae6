"""Killing programs, stopping and resuming runs: nothing is lost, nothing is done twice."""
import contextlib
import errno
import glob
import json
import os
import re
import signal
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from tfagents_system.common import summary_tags
from training_run import REPO
from training_run import TrainingRun
from training_run import read_scalars
from training_run import skip_saying_why
from training_run import wait_until

STEPS = 50
CHECKPOINT_ITRS = 4
FAST = {'num_steps_per_iter': STEPS, 'checkpoint_period_itrs': CHECKPOINT_ITRS,
        'worker_report_timeout_s': 60}


def iterations_summarized(run):
  train = read_scalars(os.path.join(run.exp_dir, 'train'))
  return [int(v) for _, v in train[summary_tags.ITERATION]]


def assert_train_step_never_went_back_more_than_a_checkpoint_period(run):
  highest = 0
  for kind, step in re.findall(r'(train step|Resuming at iteration \d+ \(train step) (\d+)',
                               run.log('sac_train')):
    step = int(step)
    if kind.startswith('Resuming'):
      assert highest - step <= CHECKPOINT_ITRS * STEPS, (highest, step)
    highest = max(highest, step)


def test_chaos_from_the_launch_on_kills_random_programs_and_the_run_completes(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=16))
  # Started beside run_script.sh, as a user would: the first kill comes as soon as a program
  # is up, before the first checkpoint, the others one per step of progress; 4 at most, each
  # restart costing seconds (an unbounded series once took this test past 3 minutes).
  chaos = subprocess.Popen([os.path.join(REPO, 'scripts', 'chaos.sh'), '--from-launch',
                            '--max-kills', '4', run.exp_dir, '8', '12'], stdout=subprocess.PIPE,
                           text=True)
  run.start()
  try:
    assert run.wait() == 0, run.output
    chaos_output, _ = chaos.communicate(timeout=60)
    kills = re.findall(r'killed (\w+)', chaos_output)
    assert len(kills) >= 2, chaos_output
    status = run.status()
    assert status['iteration'] == 16 and status['train_step'] == 16 * STEPS
    assert sorted(iterations_summarized(run)) == list(range(16))  # each exactly once
    assert_train_step_never_went_back_more_than_a_checkpoint_period(run)
    assert run.leftover_processes() == []
  finally:
    if chaos.poll() is None:
      chaos.kill()
      chaos.wait()
    run.stop()


def test_killed_replay_server_reloads_its_checkpoint_and_training_goes_on(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=16)).start()
  try:
    checkpoint = wait_until(lambda: (run.status() or {}).get('checkpoint'))
    os.kill(run.program_pid('sac_replay_buffer'), signal.SIGKILL)
    assert run.wait() == 0, run.output
    loaded = re.findall(r'episodes in the replay buffer after loading the latest checkpoint: (\d+)',
                        run.log('sac_replay_buffer'))
    assert len(loaded) >= 2 and int(loaded[1]) >= checkpoint['replay_episodes'] > 0, loaded
    assert run.status()['iteration'] == 16
    assert sorted(iterations_summarized(run)) == list(range(16))
    assert run.leftover_processes() == []
  finally:
    run.stop()


# Enough random-policy episodes that the initial collection takes several seconds.
SLOW_START = dict(FAST, n_buffer_init_episodes=200)


def initial_collection_under_way(run):
  """Its experience is partly in the replay server, and none of it is checkpointed yet."""
  try:
    waiting = 'Waiting for the initial random-policy experience' in run.log('sac_train')
  except FileNotFoundError:
    return False
  return (waiting and not (run.status() or {}).get('checkpoint')
          and 40 < replay_episodes(run) < SLOW_START['n_buffer_init_episodes'])


def replay_episodes(run):
  import reverb  # pylint: disable=g-import-not-at-top
  port = re.search(r'--port=(\d+)', open(os.path.join(run.exp_dir, 'services', 'sac_replay_buffer',
                                                        'run')).read()).group(1)
  try:
    return reverb.Client(f'localhost:{port}').server_info(timeout=2)['experience'].current_size
  except Exception:  # pylint: disable=broad-except  # not up (yet, or again)
    return 0


def test_replay_server_killed_before_its_first_checkpoint_loses_its_data_and_the_run_heals(
    tmp_path):
  run = TrainingRun(tmp_path, dict(SLOW_START, num_iter=6)).start()
  try:
    wait_until(lambda: initial_collection_under_way(run))
    os.kill(run.program_pid('sac_replay_buffer'), signal.SIGKILL)
    assert run.wait() == 0, run.output
    loaded = re.findall(r'episodes in the replay buffer after loading the latest checkpoint: (\d+)',
                        run.log('sac_replay_buffer'))
    assert loaded == ['0', '0'], loaded  # restarted empty: nothing had been checkpointed
    trainer_log = run.log('sac_train')
    assert 'publishing iteration -1 again' in trainer_log
    status = run.status()
    assert status['done'] and status['iteration'] == 6 and status['initial_collection_done']
    # Every worker collected its share of the random-policy episodes into the new server.
    assert status['checkpoint']['replay_episodes'] >= SLOW_START['n_buffer_init_episodes']
    assert run.leftover_processes() == []
  finally:
    run.stop()


def test_run_stopped_during_the_initial_collection_collects_it_again_when_resumed(tmp_path):
  run = TrainingRun(tmp_path, dict(SLOW_START, num_iter=4)).start()
  try:
    wait_until(lambda: initial_collection_under_way(run))
    run.process.send_signal(signal.SIGTERM)
    assert run.wait() == 0, run.output
    stopped = run.status()
    assert not stopped['initial_collection_done']
    assert stopped['checkpoint']['train_step'] == 0  # the stop checkpointed, at step 0
    assert run.leftover_processes() == []

    run.start()
    assert run.wait() == 0, run.output
    trainer_log = run.log('sac_train')
    assert trainer_log.count('Waiting for the initial random-policy experience') == 2
    status = run.status()
    assert status['done'] and status['initial_collection_done'] and status['iteration'] == 4
    assert run.leftover_processes() == []
  finally:
    run.stop()


def test_killed_trainer_resumes_from_its_checkpoint(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=20)).start()
  try:
    run.wait_for_iteration(CHECKPOINT_ITRS + 2)
    os.kill(run.program_pid('sac_train'), signal.SIGKILL)
    assert run.wait() == 0, run.output
    trainer_log = run.log('sac_train')
    assert re.search(r'Resuming at iteration \d+', trainer_log)
    # The restarted trainer's replay: as many episodes as the durable buffer held, resampled,
    # each cut into its 50 windows.
    loaded, held = map(int, re.search(r'Trainer replay loaded: (\d+) windows of episodes '
                                      r'resampled from the (\d+) of the replay buffer',
                                      trainer_log).groups())
    assert held > 0 and loaded == held * 50
    assert sorted(iterations_summarized(run)) == list(range(20))
    assert_train_step_never_went_back_more_than_a_checkpoint_period(run)
    assert run.status()['train_step'] == 20 * STEPS
  finally:
    run.stop()


def test_stopped_run_resumes_where_it_was_with_its_replay_data(tmp_path):
  # No periodic checkpoint to fall back on: the one resumed from is the stop's.
  config = dict(FAST, num_iter=16, checkpoint_period_itrs=1000,
                curriculum={'mass': {'iters': [0, 3, 6, 9, 12], 'range': [1.0, 2.0]}})
  run = TrainingRun(tmp_path, config).start()
  try:
    run.wait_for_iteration(5)
    run.process.send_signal(signal.SIGTERM)
    assert run.wait() == 0, run.output
    stopped = run.status()
    # The stop checkpointed trainer and replay data at the iteration it ended.
    assert stopped['checkpoint']['train_step'] == stopped['train_step'] == stopped['iteration'] * STEPS
    assert run.leftover_processes() == []

    run.start()  # the same variables file: the same experiment dir
    assert run.wait() == 0, run.output
    assert 'resuming the run in' in run.output
    trainer_log = run.log('sac_train')
    assert f"Resuming at iteration {stopped['iteration']} (train step {stopped['train_step']})" in trainer_log
    loaded = re.findall(r'episodes in the replay buffer after loading the latest checkpoint: (\d+)',
                        run.log('sac_replay_buffer'))
    assert int(loaded[-1]) == stopped['checkpoint']['replay_episodes'] > 0
    assert sorted(iterations_summarized(run)) == list(range(16))
    assert run.status()['train_step'] == 16 * STEPS

    # The resumed workers' envs start at the curriculum position of the stop.
    joined = stopped['iteration']
    due = [v for i, v in zip([0, 3, 6, 9, 12], np.linspace(1, 2, 5)) if i <= joined][-1]
    newest = sorted(glob.glob(os.path.join(run.record_dir, '*.jsonl')), key=os.path.getmtime)[-4:]
    for path in newest:
      with open(path) as f:
        first = json.loads(f.readline())
      assert first['mass'] == np.float32(due) or abs(first['mass'] - due) < 1e-9, (path, first)
  finally:
    run.stop()


def test_other_specs_are_refused_and_fresh_starts_over(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=2)).start()
  try:
    assert run.wait() == 0, run.output
    changed = dict(run.config, actor_fc_layer_params=[32])
    (tmp_path / 'config.json').write_text(json.dumps(changed))
    result = subprocess.run([os.path.join(REPO, 'run_script.sh'), str(run.variables_file)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert 'holds a run whose agent differs (variables changed)' in result.stderr
    assert '--fresh' in result.stderr

    result = subprocess.run([os.path.join(REPO, 'run_script.sh'), '--fresh',
                             str(run.variables_file)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r'the previous run is kept in (\S+)', result.stdout).group(1)
    assert os.path.isfile(os.path.join(kept, 'status.json'))
    assert json.load(open(os.path.join(run.exp_dir, 'status.json')))['done']
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(kept)
  finally:
    run.stop()


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
  config = dict(FAST, num_iter=40, checkpoint_period_itrs=1,
                curriculum={'poison': {'iters': [4], 'range': [1, 1]}})
  run = TrainingRun(tmp_path, config, params='tests/params/poisoned_params.py').start()
  try:
    assert run.wait() == 1, run.output
    failure = re.search(r'error: non-finite loss at iteration (\d+) \((.*)\)', run.output)
    assert failure, run.output
    assert 'loss' in failure.group(2) and 'Graph execution' not in failure.group(2), run.output
    assert 'the last good checkpoint is kept' in run.output
    assert run.leftover_processes() == []
    latest = tf.train.latest_checkpoint(os.path.join(run.exp_dir, 'train', 'checkpoints'))
    assert int(latest.rsplit('-', 1)[1]) <= int(failure.group(1)) * STEPS
    reader = tf.train.load_checkpoint(latest)
    for name, dtype in reader.get_variable_to_dtype_map().items():
      if dtype.is_floating:
        assert np.all(np.isfinite(reader.get_tensor(name))), name
  finally:
    run.stop()


@pytest.fixture
def root_to_mount(pytestconfig):
  """The tests that mount a tmpfs need root."""
  if os.geteuid() != 0:
    skip_saying_why(pytestconfig, 'tmpfs tests', 'mounting a tmpfs needs root')


@contextlib.contextmanager
def small_file_system(path):
  """A 64 MiB tmpfs mounted at `path` for the test, to fill up."""
  os.makedirs(path)
  subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', path], check=True)
  try:
    yield
  finally:
    subprocess.run(['umount', '-l', path], check=True)


def fill_disk(path):
  """Writes a file in `path` until its file system is full; returns the file's path."""
  filler = os.path.join(path, 'filler')
  with open(filler, 'wb', buffering=0) as f:
    for chunk in (b'\0' * (1 << 20), b'\0' * 4096):
      try:
        while True:
          f.write(chunk)
      except OSError as e:
        assert e.errno == errno.ENOSPC, e
  return filler


def assert_resumes_from(run, kept_step, replay_episodes, num_iter):
  """The run, started again, goes on from the kept checkpoints to the end."""
  run.start()
  assert run.wait() == 0, run.output
  assert (f'Resuming at iteration {kept_step // STEPS} (train step {kept_step})'
          in run.log('sac_train'))
  loaded = re.findall(r'episodes in the replay buffer after loading the latest checkpoint: (\d+)',
                      run.log('sac_replay_buffer'))
  assert int(loaded[-1]) >= replay_episodes > 0
  assert run.status()['done'] and run.status()['train_step'] == num_iter * STEPS


@pytest.mark.usefixtures('root_to_mount')
def test_full_disk_stops_the_run_and_its_checkpoints_stay_whole(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=30, checkpoint_period_itrs=2))
  # The logs, status.json, supervise's state and the checkpoints all find this disk full.
  try:
    with small_file_system(run.exp_dir):
      run.start()
      checkpoint = wait_until(lambda: (run.status() or {}).get('checkpoint'))
      filler = fill_disk(run.exp_dir)
      assert run.wait() == 1, run.output
      failure = re.search(r'error: the disk holding \S+ is full: .*the last good checkpoint '
                          r'\(train step (\d+)\) is kept', run.output)
      assert failure, run.output
      kept_step = int(failure.group(1))
      assert kept_step >= checkpoint['train_step']
      assert run.leftover_processes() == []

      os.remove(filler)
      assert_resumes_from(run, kept_step, checkpoint['replay_episodes'], num_iter=30)
  finally:
    run.stop()  # after the unmount: removes the mount point too


@pytest.mark.usefixtures('root_to_mount')
def test_checkpoint_that_does_not_fit_stops_the_run_and_the_previous_one_is_kept(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=30, checkpoint_period_itrs=2))
  try:
    with small_file_system(os.path.join(run.exp_dir, 'train', 'checkpoints')):
      run.start()
      checkpoint = wait_until(lambda: (run.status() or {}).get('checkpoint'))
      filler = fill_disk(os.path.join(run.exp_dir, 'train', 'checkpoints'))
      assert run.wait() == 1, run.output
      failure = re.search(r'error: checkpointing failed at train step (\d+) \(.*No space left on '
                          r'device.*\); training stopped, the last good checkpoint is kept',
                          run.output)
      assert failure, run.output
      kept_step = tf.train.latest_checkpoint(os.path.join(run.exp_dir, 'train', 'checkpoints'))
      kept_step = int(kept_step.rsplit('-', 1)[1])
      assert checkpoint['train_step'] <= kept_step < int(failure.group(1))
      assert run.leftover_processes() == []

      os.remove(filler)  # the failed save's partial files stay: they must not be taken for a checkpoint
      assert_resumes_from(run, kept_step, checkpoint['replay_episodes'], num_iter=30)
  finally:
    run.stop()  # after the unmount: removes the mount point too


@pytest.mark.usefixtures('root_to_mount')
@pytest.mark.parametrize('disk', ['full', 'read-only'])
def test_replay_checkpoint_that_cannot_be_written_fails_with_an_error_the_trainer_stops_on(
    tmp_path, disk):
  import reverb  # pylint: disable=g-import-not-at-top
  from tfagents_system.protocol.replay_connection import ReplayConnection  # pylint: disable=g-import-not-at-top
  from tfagents_system.trainer.trainer_checkpoints import SAVE_ERRORS  # pylint: disable=g-import-not-at-top
  checkpoints = str(tmp_path / 'replay_checkpoints')
  with small_file_system(checkpoints):
    table = reverb.Table.queue('experience', max_size=10)
    server = reverb.Server([table], checkpointer=reverb.checkpointers.DefaultCheckpointer(checkpoints))
    try:
      client = server.localhost_client()
      client.insert(np.random.default_rng(0).random(1 << 20), {'experience': 1.0})  # incompressible
      if disk == 'full':
        fill_disk(checkpoints)
      else:
        subprocess.run(['mount', '-o', 'remount,ro', checkpoints], check=True)
      connection = ReplayConnection(f'localhost:{server.port}', reconnect_timeout_s=10)
      reconnects = []
      connection.on_reconnect(lambda: reconnects.append(1))
      with pytest.raises(SAVE_ERRORS, match='No space left on device|Read-only file system'):
        # As the trainer calls it: the server answers, so its error is raised, not retried.
        connection.call(connection.checkpoint, 'checkpointing', attempts=3)
      assert reconnects == []
    finally:
      server.stop()
