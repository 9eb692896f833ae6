"""launch.supervise_run with real daemontools: stand-in programs (shell scripts) as the replay
server and the trainer, and how the run ends: completed, failed (the trainer down before the end,
its status.json saying it failed, a crash loop, svscan gone) or stopped by a signal. Every way,
the programs, supervise, multilog and svscan are gone afterwards."""
import os
import signal
import time
import types

import pytest

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import launch
from tfagents_system.launcher import processes
from tfagents_system.launcher import run_stop
from tfagents_system.launcher import run_watch

PROGRAMS = experiment_dir.program_names(0)  # the replay server and the trainer
RUNS_ON = 'exec sleep 1000'  # exec: svc's SIGTERM reaches the program, not a shell waiting on it
TAKES_ITSELF_DOWN = 'svc -d .'  # as the trainer does at its end (supervise runs it in its dir)


def status_written(fields):
  """A script line writing status.json, `fields` (JSON, no single quotes) and the time now."""
  return (f'printf \'{{"updated": %s, %s}}\' "$(date +%s.%N)" \'{fields}\' > ../../status.tmp && '
          'mv ../../status.tmp ../../status.json')


class RecordingDisplay:
  """launch's display, which records what it is told and the programs' PIDs each second;
  `on_update(display)` runs at every update."""

  def __init__(self, experiment, on_update=None):
    self.service_dirs = [experiment.service_dir(p) for p in PROGRAMS]
    self.on_update = on_update
    self.messages = []
    self.program_pids = set()

  def update(self, _):
    self.program_pids.update(s.pid for s in daemontools.svstat_all(self.service_dirs) if s.pid)
    if self.on_update:
      self.on_update(self)

  def message(self, text):
    self.messages.append(text)


@pytest.fixture
def stop_signals_kept():
  """supervise_run takes over SIGINT, SIGTERM and SIGHUP and ignores them when it returns. SIGHUP
  is taken over only if not ignored (under nohup), so it is not, as in a terminal."""
  signums = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
  handlers = {signum: signal.getsignal(signum) for signum in signums}
  signal.signal(signal.SIGHUP, signal.SIG_DFL)
  yield
  for signum, handler in handlers.items():
    signal.signal(signum, handler)


def supervise(tmp_path, scripts, on_update=None):
  """Runs supervise_run over a service per program running its script; returns (outcome,
  display). Ends by PID anything of the run left behind, and checks nothing was."""
  experiment = experiment_dir.ExperimentDir(str(tmp_path / 'exp'))
  for program in PROGRAMS:
    daemontools.write_service(experiment.service_dir(program), ['sh', '-c', scripts[program]],
                              [0], {}, experiment.log_dir(program))
  display = RecordingDisplay(experiment, on_update)
  watch = run_watch.RunWatch(worker_report_timeout_s=60, now=time.monotonic())
  try:
    outcome = launch.supervise_run(experiment, PROGRAMS, watch, types.SimpleNamespace(pid=None),
                                   display)
    assert run_stop.processes_of_run(experiment.root) == []
    assert not [pid for pid in display.program_pids if processes.alive(pid)]
  finally:
    for pid in run_stop.processes_of_run(experiment.root) + list(display.program_pids):
      processes.send(pid, signal.SIGKILL)
  return outcome, display


def errors(display):
  return [m for m in display.messages if m.startswith('error: ')]


@pytest.mark.usefixtures('stop_signals_kept')
def test_a_trainer_that_is_done_and_takes_itself_down_completes_the_run(tmp_path):
  outcome, display = supervise(tmp_path, {
      experiment_dir.REPLAY_PROGRAM: RUNS_ON,
      experiment_dir.TRAIN_PROGRAM: '; '.join([status_written('"done": true'), TAKES_ITSELF_DOWN,
                                               RUNS_ON])})
  assert outcome == launch.COMPLETED, display.messages
  assert errors(display) == []
  assert display.program_pids  # the programs ran


@pytest.mark.usefixtures('stop_signals_kept')
def test_a_trainer_down_before_the_end_fails_the_run(tmp_path):
  outcome, display = supervise(tmp_path, {experiment_dir.REPLAY_PROGRAM: RUNS_ON,
                                          experiment_dir.TRAIN_PROGRAM: TAKES_ITSELF_DOWN + '; '
                                                                        + RUNS_ON})
  assert outcome == launch.FAILED
  log = str(tmp_path / 'exp' / 'logs' / experiment_dir.TRAIN_PROGRAM / 'current')
  assert errors(display) == [f'error: the trainer stopped before the end; see {log}']


@pytest.mark.usefixtures('stop_signals_kept')
def test_a_failure_the_trainer_reports_fails_the_run_with_it(tmp_path):
  outcome, display = supervise(tmp_path, {
      experiment_dir.REPLAY_PROGRAM: RUNS_ON,
      experiment_dir.TRAIN_PROGRAM: status_written('"failed": "non-finite loss"') + '; ' + RUNS_ON})
  assert outcome == launch.FAILED
  assert errors(display) == ['error: non-finite loss']


@pytest.mark.usefixtures('stop_signals_kept')
def test_a_program_that_keeps_crashing_fails_the_run(tmp_path):
  # Up long enough for the once-a-second poll to see every start.
  outcome, display = supervise(tmp_path, {experiment_dir.REPLAY_PROGRAM: 'sleep 1.5; exit 1',
                                          experiment_dir.TRAIN_PROGRAM: RUNS_ON})
  assert outcome == launch.FAILED
  [error] = errors(display)
  assert error.startswith('error: sac_replay_buffer keeps crashing (3 starts in '), error


@pytest.mark.usefixtures('stop_signals_kept')
def test_svscan_gone_fails_the_run_and_what_it_started_is_ended_by_pid(tmp_path):
  killed = []

  def kill_svscan_once_both_run(display):
    if len(display.program_pids) == 2 and not killed:
      svscan = daemontools.Svscan.find(str(tmp_path / 'exp' / 'services'))
      processes.send(svscan.pid, signal.SIGKILL)
      killed.append(svscan.pid)

  outcome, display = supervise(tmp_path, {experiment_dir.REPLAY_PROGRAM: RUNS_ON,
                                          experiment_dir.TRAIN_PROGRAM: RUNS_ON},
                               kill_svscan_once_both_run)
  assert outcome == launch.FAILED
  assert 'svscan stopped unexpectedly; stopping the run' in display.messages


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.usefixtures('stop_signals_kept')
def test_a_stop_signal_stops_the_run(tmp_path, signum):
  sent = []

  def signal_once_both_run(display):
    if len(display.program_pids) == 2 and not sent:
      sent.append(signum)
      os.kill(os.getpid(), signum)  # handled here, in supervise_run's loop

  outcome, display = supervise(tmp_path, {experiment_dir.REPLAY_PROGRAM: RUNS_ON,
                                          experiment_dir.TRAIN_PROGRAM: RUNS_ON},
                               signal_once_both_run)
  assert outcome == launch.STOPPED
  assert f'{signal.Signals(signum).name}: stopping every program' in display.messages
  assert errors(display) == []
