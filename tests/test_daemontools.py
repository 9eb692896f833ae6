import os
import signal
import subprocess
import sys
import time

from tfagents_system import REPO_ROOT
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import processes
from tfagents_system.launcher import run_stop
from tfagents_system.launcher.daemontools import ServiceStatus


def test_svstat_lines_are_parsed():
  up = ServiceStatus('/exp/services/sac_train: up (pid 123) 45 seconds')
  assert (up.up, up.pid, up.seconds, up.wanted_down) == (True, 123, 45, False)
  stopped = ServiceStatus('/exp/services/sac_train: down 5 seconds, normally up')
  assert (stopped.up, stopped.pid, stopped.seconds, stopped.wanted_down) == (False, None, 5, True)
  crashed = ServiceStatus('/exp/services/sac_train: down 0 seconds, normally up, want up')
  assert not crashed.up and not crashed.wanted_down
  assert up.supervised and stopped.supervised and crashed.supervised
  gone = ServiceStatus('unable to open /exp/services/sac_train/supervise/ok: file does not exist')
  assert not gone.up and gone.pid is None and not gone.wanted_down and not gone.supervised
  unsupervised = ServiceStatus('/exp/services/sac_train: supervise not running')
  assert not unsupervised.up and unsupervised.pid is None and not unsupervised.supervised


def sleeping_services(tmp_path, names):
  services = tmp_path / 'services'
  for name in names:
    daemontools.write_service(str(services / name), ['sleep', '1000'], [0], {},
                              str(tmp_path / 'logs' / name))
  return str(services)


def wait_until_up(service_dirs, timeout_s=30):
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    states = daemontools.svstat_all(service_dirs)
    if all(s.up for s in states):
      return states
    time.sleep(0.1)
  raise TimeoutError


def test_svstat_all_reads_each_service_and_a_found_svscan_stops_everything_it_started(tmp_path):
  services = sleeping_services(tmp_path, ['a', 'b'])
  # Started as a launcher does, then found as its guard does once the launcher is gone.
  launcher_svscan = subprocess.Popen(['svscan', services], start_new_session=True)
  try:
    # Popen returns as the exec starts; /proc shows svscan's argv a moment later.
    deadline = time.monotonic() + 10
    svscan = daemontools.Svscan.find(services)
    while svscan.pid is None and time.monotonic() < deadline:
      time.sleep(0.05)
      svscan = daemontools.Svscan.find(services)
    assert svscan.pid == launcher_svscan.pid
    svscan.wait_until_supervised()
    sleeps = [s.pid for s in wait_until_up([os.path.join(services, n) for n in ('a', 'b')])]
    missing = daemontools.svstat_all([os.path.join(services, 'a'), str(tmp_path / 'missing')])
    assert missing[0].up and not missing[1].up and missing[1].pid is None
    assert run_stop.processes_of_run(str(tmp_path))  # svscan, supervise, multilog
    svscan.stop()
    launcher_svscan.wait(timeout=10)
    assert not any(processes.alive(pid) for pid in sleeps)
    assert run_stop.processes_of_run(str(tmp_path)) == []
  finally:
    if launcher_svscan.poll() is None:
      launcher_svscan.kill()
      launcher_svscan.wait()
    for pid in run_stop.processes_of_run(str(tmp_path)):
      processes.send(pid, signal.SIGKILL)


def pid_command(service_dir):
  """`python -m tfagents_system.launcher.daemontools pid`, as scripts/chaos.sh runs it."""
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.launcher.daemontools', 'pid',
                           service_dir], cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True, text=True, timeout=60)
  return result.returncode, result.stdout


def test_pid_command_prints_an_up_services_pid_nothing_when_down_and_fails_without_supervise(
    tmp_path):
  services = sleeping_services(tmp_path, ['a'])
  service = os.path.join(services, 'a')
  assert pid_command(service) == (1, '')  # no supervise yet
  svscan = daemontools.Svscan(services)
  try:
    svscan.start()
    svscan.wait_until_supervised()
    [state] = wait_until_up([service])
    assert pid_command(service) == (0, f'{state.pid}\n')
    daemontools.svc('-d', [service])
    assert processes.wait_for_exit([state.pid], 10)
    assert pid_command(service) == (0, '')
  finally:
    svscan.stop()
  assert pid_command(service) == (1, '')
  assert run_stop.processes_of_run(str(tmp_path)) == []
