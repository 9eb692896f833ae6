"""Running programs as daemontools services: run files, one svscan, and a clean stop."""
import os
import re
import shlex
import signal
import subprocess
import time
from typing import Dict, List, Optional, Sequence

from tfagents_system.cpu_plan import format_cpu_list


def thread_env(cpu_count: int) -> Dict[str, str]:
  """Thread pool sizes for a program that runs on `cpu_count` CPUs."""
  return {'OMP_NUM_THREADS': str(cpu_count), 'TF_NUM_INTRAOP_THREADS': str(cpu_count),
          'TF_NUM_INTEROP_THREADS': str(min(2, cpu_count))}


def write_service(service_dir: str, command: Sequence[str], cpus: Optional[Sequence[int]],
                  env: Dict[str, str], log_dir: str) -> None:
  """A service dir whose run file pins `command` to `cpus`, logging through multilog.

  cpus=None: the command is not pinned here; it pins itself (srun, which SLURM pins on its
  node), and `env` sets its thread pools."""
  os.makedirs(os.path.join(service_dir, 'log'), exist_ok=True)
  os.makedirs(log_dir, exist_ok=True)
  if cpus is not None:
    env = dict(env, **thread_env(len(cpus)))
    command = ['taskset', '-c', format_cpu_list(cpus)] + list(command)
  exports = '\n'.join(f'export {k}={shlex.quote(v)}' for k, v in sorted(env.items()))
  _write_executable(os.path.join(service_dir, 'run'),
                    f'#!/bin/sh\nexec 2>&1\n{exports}\nexec {shlex.join(command)}\n')
  # Keep 10 files of 10 MB: a long run's log cannot fill the disk.
  _write_executable(os.path.join(service_dir, 'log', 'run'),
                    f'#!/bin/sh\nexec multilog s10000000 n10 {shlex.quote(log_dir)}\n')


def _write_executable(path: str, text: str) -> None:
  with open(path, 'w') as f:
    f.write(text)
  os.chmod(path, 0o700)


class ServiceStatus:
  """One line of svstat, parsed: 'DIR: up (pid 123) 45 seconds' or 'DIR: down 5 seconds, normally up'."""

  def __init__(self, line: str):
    _, _, state = line.partition(': ')
    self.text = state.strip()
    self.up = self.text.startswith('up ')
    pid = re.search(r'\(pid (\d+)\)', self.text)
    self.pid = int(pid.group(1)) if self.up and pid else None
    seconds = re.search(r'\b(\d+) seconds\b', self.text)
    self.seconds = int(seconds.group(1)) if seconds else None
    # Down, and supervise keeps it down (svc -d): not a crash supervise will restart.
    self.wanted_down = self.text.startswith('down ') and 'want up' not in self.text


def svstat(service_dir: str) -> ServiceStatus:
  result = subprocess.run(['svstat', service_dir], capture_output=True, text=True, check=False)
  return ServiceStatus(result.stdout.strip())


def svc(option: str, service_dirs: Sequence[str]) -> None:
  if service_dirs:
    subprocess.run(['svc', option, *service_dirs], capture_output=True, check=False)


class Svscan:
  """One svscan over a directory of services, stopped with everything it started."""

  def __init__(self, services_dir: str):
    self.services_dir = services_dir
    self.process: Optional[subprocess.Popen] = None

  def start(self) -> None:
    # Its own session: a Ctrl-C in the terminal reaches the launcher, which stops
    # the services in order, rather than every program at once.
    self.process = subprocess.Popen(['svscan', self.services_dir], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)

  def running(self) -> bool:
    return self.process is not None and self.process.poll() is None

  def service_dirs(self) -> List[str]:
    return sorted(os.path.join(self.services_dir, name) for name in os.listdir(self.services_dir)
                  if os.path.isfile(os.path.join(self.services_dir, name, 'run')))

  def wait_until_supervised(self, timeout_s: float = 30.0) -> None:
    """Waits until supervise runs for every service (svc needs it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
      if all(os.path.exists(os.path.join(d, 'supervise', 'ok')) for d in self.service_dirs()):
        return
      time.sleep(0.1)
    raise RuntimeError(f'supervise did not start for every service in {self.services_dir}')

  def stop(self, first: Sequence[str] = (), first_grace_s: float = 60.0,
           grace_s: float = 20.0) -> None:
    """Stops the `first` services, then the others, then every supervise and multilog,
    then svscan; by PID. A service that outlasts its grace period is killed."""
    services = self.service_dirs()
    logs = [os.path.join(d, 'log') for d in services]
    supervise_pids = self._children()
    service_pids = []
    for group, grace in ((list(first), first_grace_s),
                         ([d for d in services if d not in first], grace_s)):
      pids = [s.pid for s in map(svstat, group) if s.pid]
      service_pids += pids
      svc('-d', group)  # TERM, then no restart
      if not _wait_for_exit(pids, grace):
        svc('-k', group)
        _wait_for_exit(pids, 5.0)
    if self.running():
      self.process.terminate()
      self.process.wait()
    # With svscan gone nothing restarts them: -x makes each supervise exit once
    # its service is down; multilog exits at the end of its input.
    svc('-dx', services + logs)
    log_pids = [s.pid for s in map(svstat, logs) if s.pid]
    if not _wait_for_exit(supervise_pids + log_pids, grace_s):
      for pid in supervise_pids + log_pids + service_pids:
        _kill(pid, signal.SIGKILL)

  def _children(self) -> List[int]:
    if not self.running():
      return []
    pid = self.process.pid
    try:
      with open(f'/proc/{pid}/task/{pid}/children') as f:
        return [int(p) for p in f.read().split()]
    except FileNotFoundError:
      return []


def pid_alive(pid: int) -> bool:
  try:
    with open(f'/proc/{pid}/stat') as f:
      return f.read().split(') ')[-1].split()[0] != 'Z'
  except (FileNotFoundError, ProcessLookupError):
    return False


def _wait_for_exit(pids: Sequence[int], timeout_s: float) -> bool:
  deadline = time.monotonic() + timeout_s
  while any(pid_alive(p) for p in pids):
    if time.monotonic() > deadline:
      return False
    time.sleep(0.05)
  return True


def _kill(pid: int, sig: int) -> None:
  try:
    os.kill(pid, sig)
  except ProcessLookupError:
    pass
