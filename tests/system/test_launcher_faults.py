"""No silent hangs, no orphans: crash loops and stalls stop a run with one line; a closed terminal
stops it like Ctrl-C; a killed launcher's run stops by itself; one run per experiment dir; a
program whose supervise was killed exits; chaos from the launch on heals."""
import fcntl
import glob
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading

import pytest

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import processes
from tfagents_system.launcher import progress_display
from tfagents_system.launcher import run_lock
from tfagents_system.launcher import run_stop
from tfagents_system.launcher import run_watch
from tfagents_system.launcher.daemontools import ServiceStatus
from training_run import REPO
from training_run import TrainingRun
from training_run import wait_until

FAST = {'num_steps_per_iter': 50, 'checkpoint_period_itrs': 2, 'worker_report_timeout_s': 60}


def wait_for_exit(process, timeout_s):
  """The process's exit code, or None if it is still running after `timeout_s`."""
  try:
    return process.wait(timeout=timeout_s)
  except subprocess.TimeoutExpired:
    return None


def assert_checkpointed_at_the_stop(status):
  """The stop checkpointed the trainer where it ended, at least 3 iterations in."""
  assert status['checkpoint']['train_step'] == status['train_step']
  assert status['train_step'] >= 3 * FAST['num_steps_per_iter']


def error_lines(output):
  return [line for line in output.splitlines() if line.startswith('error: ')]


# The rules, fed with svstat lines and status.json contents.

def up(pid):
  return ServiceStatus(f'/exp/services/x: up (pid {pid}) 1 seconds')


def test_a_program_started_three_times_without_progress_is_a_crash_loop():
  watch = run_watch.RunWatch(worker_report_timeout_s=60, now=0)
  assert watch.observe(0, {'sac_train': up(10), 'sac_collect_1': up(20)}, None) is None
  assert watch.observe(12, {'sac_train': up(10), 'sac_collect_1': up(21)}, None) is None
  down = ServiceStatus('/exp/services/x: down 0 seconds, normally up, want up')
  assert watch.observe(20, {'sac_train': up(10), 'sac_collect_1': down}, None) is None
  failure = watch.observe(25, {'sac_train': up(10), 'sac_collect_1': up(22)}, None)
  assert failure.program == 'sac_collect_1'
  assert failure.cause == 'keeps crashing (3 starts in 25 s, no progress)'


def test_progress_forgives_restarts_but_not_those_of_a_worker_that_did_not_report():
  watch = run_watch.RunWatch(worker_report_timeout_s=60, now=0)
  status = {'updated': 1.0, 'missing_workers': []}
  pids = {'sac_replay_buffer': 1, 'sac_collect_0': 10, 'sac_collect_1': 20}
  for now in range(0, 100, 10):
    pids = {name: pid + 1 for name, pid in pids.items()}  # every program restarts every 10 s
    status = dict(status, updated=now, missing_workers=[1])  # each time with progress
    failure = watch.observe(now, {name: up(pid) for name, pid in pids.items()}, status)
    if failure:
      break
  assert failure.program == 'sac_collect_1' and now == 20


def test_no_status_rewrite_for_longer_than_the_bound_is_a_stall():
  watch = run_watch.RunWatch(worker_report_timeout_s=60, now=0)
  services = {'sac_train': up(10)}
  assert watch.stall_bound_s == 60 + 3 * 120  # start-up: nothing measured yet
  assert watch.observe(0, services, None) is None
  assert watch.observe(400, services, {'updated': 1}) is None  # the first rewrite, 400 s in
  assert watch.stall_bound_s == 60 + 3 * 400
  assert watch.observe(410, services, {'updated': 2}) is None
  assert watch.observe(410 + 1260, services, {'updated': 2}) is None
  failure = watch.observe(410 + 1261, services, {'updated': 2})
  assert failure.program == 'sac_train'
  assert failure.cause == ('made no progress for 1261 s (status.json not rewritten; the bound '
                           'is 1260 s)')


def test_the_crash_line_has_the_last_crash_exception_and_the_os_error_before_it(tmp_path):
  start = 'I1121 16:00:00.000 1 supervised_program.py:37] replay buffer on CPUs [0]'
  crash = [
      start,
      'E1121 16:06:38.035 15290 server_chttp2.cc:49] {"description":"No address added",'
      '"referenced_errors":[{"os_error":"Address already in use","syscall":"bind"}]}',
      'Traceback (most recent call last):',
      '  File "sac_replay_buffer.py", line 34, in main',
      '    server = reverb.Server(tables, port=FLAGS.port, checkpointer=checkpointer)',
      '             ^^^^^^^^^^^^^^',
      'ValueError: Failed to BuildAndStart gRPC server',
  ]
  log = tmp_path / 'current'
  log.write_text('\n'.join(crash + crash + [start]) + '\n')  # the third start is under way
  assert run_watch.last_error(str(log)) == (
      'ValueError: Failed to BuildAndStart gRPC server (Address already in use)')
  failure = run_watch.Failure('sac_replay_buffer', 'keeps crashing (3 starts in 30 s, no progress)',
                              crashed=True)
  assert failure.message(str(log)) == (
      'sac_replay_buffer keeps crashing (3 starts in 30 s, no progress): ValueError: Failed to '
      f'BuildAndStart gRPC server (Address already in use); see {log}')
  # A traceback from before the crashed start is not this crash's (a SIGKILL leaves none).
  log.write_text('\n'.join(crash + [start, 'I... working', start]) + '\n')
  assert run_watch.last_error(str(log)) is None


def test_a_dir_stays_locked_until_launcher_and_guard_are_gone_then_the_lock_is_taken_over(
    tmp_path):
  root = str(tmp_path / 'exp')
  os.makedirs(root)
  # A launcher that holds the lock and passes it to a guard (here a sleep), as launch.py does.
  launcher = subprocess.Popen(
      [sys.executable, '-c', 'import subprocess, time\nfrom tfagents_system.launcher import run_lock\n'
       f'lock = run_lock.RunLock({root!r})\nlock.acquire()\n'
       'guard = subprocess.Popen(["sleep", "600"], pass_fds=[lock.fileno()])\n'
       'print(guard.pid, flush=True)\ntime.sleep(600)\n'],
      stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO))
  guard = int(launcher.stdout.readline())
  try:
    in_use = f'in use by the run of launcher PID {launcher.pid};'
    with pytest.raises(run_lock.RunInUse, match=in_use):
      run_lock.RunLock(root).acquire()
    launcher.kill()
    launcher.wait()
    with pytest.raises(run_lock.RunInUse, match=f'launcher PID {launcher.pid} \\(gone\\) is still '
                       'being stopped'):
      run_lock.RunLock(root).acquire()
  finally:
    launcher.kill()
    launcher.wait()
    processes.end([guard], grace_s=5)  # the kernel drops the lock with its last holder
  lock = run_lock.RunLock(root)
  lock.acquire()
  with open(os.path.join(root, 'run.lock')) as f:
    assert f.read() == f'{os.getpid()}\n'


def test_the_display_goes_quiet_once_its_terminal_is_gone():
  read_end, write_end = os.pipe()
  os.close(read_end)  # as a closed terminal: writing fails
  with os.fdopen(write_end, 'w') as stream:
    display = progress_display.ProgressDisplay(stream)
    display.message('SIGHUP: stopping every program')
    display.update({'iteration': 1})
    display.message('warning: something')  # goes nowhere, without an error
    stream.flush()


def test_the_stop_ends_by_pid_what_is_left_of_the_run(tmp_path):
  experiment = experiment_dir.ExperimentDir(str(tmp_path / 'exp'))
  # A program of the run that outlived its supervise and svscan.
  straggler = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)',
                                f'--root_dir={experiment.root}'])
  os.makedirs(experiment.log_dir('sac_train'))
  open(experiment.log_file('sac_train'), 'w').close()
  bystander = subprocess.Popen(['tail', '-f', experiment.log_file('sac_train')])  # the user's
  try:
    assert run_stop.processes_of_run(experiment.root) == [straggler.pid]
    ended = run_stop.stop_run(experiment, daemontools.Svscan.find(experiment.services_dir))
    assert ended == [f'{straggler.pid} {os.path.basename(sys.executable)}']
    assert straggler.wait(timeout=10) == -signal.SIGTERM
    assert bystander.poll() is None
  finally:
    for process in (straggler, bystander):
      process.kill()
      process.wait()


# Real runs.

def test_a_worker_that_keeps_crashing_stops_the_run_with_its_exception(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=10, crash_after_steps=20),
                    params='tests/params/crashing_env_params.py').start()
  try:
    assert run.wait(timeout_s=400) == 1, run.output
    errors = error_lines(run.output)
    assert len(errors) == 1, run.output
    failure = re.fullmatch(r'error: (sac_collect_[01]) keeps crashing \(3 starts in \d+ s, no '
                           r'progress\): RuntimeError: the env exploded; see (\S+)', errors[0])
    assert failure, errors[0]
    assert failure.group(2) == os.path.join(run.exp_dir, 'logs', failure.group(1), 'current')
    assert run.leftover_processes() == []
  finally:
    run.stop()


def test_a_taken_reverb_port_stops_the_run_naming_the_replay_server(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=10)).start()
  blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEPORT: gRPC cannot share
  try:
    port = int(re.search(r'--port=(\d+)', run.wait_for_run_file('sac_replay_buffer')).group(1))
    blocker.bind(('', port))
    blocker.listen(1)
    assert run.wait(timeout_s=400) == 1, run.output
    errors = error_lines(run.output)
    assert len(errors) == 1, run.output
    assert errors[0].startswith('error: sac_replay_buffer keeps crashing (3 starts in '), errors[0]
    assert 'Address already in use' in errors[0], errors[0]
    assert run.leftover_processes() == []
  finally:
    blocker.close()
    run.stop()


def test_a_second_launch_is_refused_and_closing_the_terminal_stops_the_run_like_sigterm(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=1000))
  # The launcher in a terminal of its own, as in an SSH session: closing the terminal sends
  # SIGHUP to it, and what it writes afterwards fails.
  terminal, launcher_side = pty.openpty()

  def login_session():  # not under nohup, even if the tests are: SIGHUP stops the launcher
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)

  run.process = subprocess.Popen(
      [os.path.join(REPO, 'run_script.sh'), str(run.variables_file)], cwd=REPO,
      stdin=launcher_side, stdout=launcher_side, stderr=launcher_side, start_new_session=True,
      preexec_fn=login_session)
  os.close(launcher_side)
  shown = bytearray()
  closing = threading.Event()

  def show():
    while not closing.is_set():
      if select.select([terminal], [], [], 0.2)[0]:
        shown.extend(os.read(terminal, 4096))

  reader = threading.Thread(target=show)
  reader.start()
  try:
    run.wait_for_iteration(1)
    for fresh in ([], ['--fresh']):
      second = subprocess.run(
          [os.path.join(REPO, 'run_script.sh'), *fresh, str(run.variables_file)], cwd=REPO,
          capture_output=True, text=True, timeout=300)
      assert second.returncode == 2, second.stdout + second.stderr
      assert error_lines(second.stderr) == [
          f'error: {run.exp_dir} is in use by the run of launcher PID {run.process.pid}; stop it '
          f'first (Ctrl-C in its terminal, or kill {run.process.pid})'], second.stderr
    assert not glob.glob(run.exp_dir + '_*')  # --fresh kept nothing aside
    run.wait_for_iteration(3)  # the first run went on
    closing.set()
    reader.join()
    os.close(terminal)
    assert wait_for_exit(run.process, 150) == 0, run.log('sac_train')[-3000:]
    assert re.search(rb'iteration \d+/1000 \| env steps', shown)  # the progress line was shown
    assert run.leftover_processes() == []
    stopped = run.status()
    assert_checkpointed_at_the_stop(stopped)
  finally:
    if not closing.is_set():
      closing.set()
      reader.join()
      os.close(terminal)
    run.stop()


def test_a_killed_launchers_run_stops_by_itself_and_resumes(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=1000)).start()
  try:
    run.wait_for_iteration(3)
    run.process.kill()
    run.wait()
    wait_until(lambda: run.leftover_processes() == [], timeout_s=60)
    stopped = run.status()
    assert_checkpointed_at_the_stop(stopped)
    with open(os.path.join(run.exp_dir, 'logs', 'run_guard.log')) as f:
      assert 'the launcher is gone without having stopped the run' in f.read()

    config = dict(run.config, num_iter=stopped['iteration'] + 2)
    (tmp_path / 'config.json').write_text(json.dumps(config))
    run.start()  # the same variables file: the same experiment dir
    assert run.wait(timeout_s=300) == 0, run.output
    assert f"Resuming at iteration {stopped['iteration']}" in run.log('sac_train')
    assert run.leftover_processes() == []
  finally:
    run.stop()


def parent_of(pid):
  with open(f'/proc/{pid}/stat') as f:
    return int(f.read().rsplit(') ', 1)[1].split()[1])


def test_a_program_whose_supervise_was_killed_exits_and_the_run_completes(tmp_path):
  run = TrainingRun(tmp_path, dict(FAST, num_iter=20)).start()
  try:
    run.wait_for_iteration(2)
    worker = run.program_pid('sac_collect_1')
    supervise = parent_of(worker)
    with open(f'/proc/{supervise}/cmdline') as f:
      assert f.read().split('\0')[:2] == ['supervise', 'sac_collect_1']
    os.kill(supervise, signal.SIGKILL)  # svscan starts another supervise, and worker 1 with it
    assert processes.wait_for_exit([worker], 20), 'the orphaned worker is still running'
    assert run.process.poll() is None  # by itself, not ended with the run
    assert run.wait() == 0, run.output
    assert run.status()['iteration'] == 20
    assert 'what was left of the run' not in run.output
    assert run.leftover_processes() == []
  finally:
    run.stop()
