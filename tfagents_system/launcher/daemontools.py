"""Running programs as daemontools services: run files, one svscan, and a clean stop.

  python -m tfagents_system.launcher.daemontools pid <service dir>

prints the PID of the service's program if it is up, nothing if it is down, and exits with 1 if
no supervise answers for it (scripts/chaos.sh reads it so).
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from tfagents_system.common import thread_pools
from tfagents_system.launcher import processes
from tfagents_system.launcher.cpu_plan import format_cpu_list

# How long a program other than the first ones may take to stop.
STOP_GRACE_S = 20.0


def write_service(service_dir: str, command: Sequence[str], cpus: Optional[Sequence[int]],
                  env: Dict[str, str], log_dir: str) -> None:
  """A service dir whose run file pins `command` to `cpus`, logging through multilog.

  cpus=None: the command is not pinned here; it pins itself (srun, which SLURM pins on its
  node), and `env` sets its thread pools.

  A pinned command is supervise's child (exec) and is told supervise's PID in SAC_SUPERVISE_PID,
  so that it can end with supervise (supervised_program.exit_with_supervise)."""
  os.makedirs(os.path.join(service_dir, 'log'), exist_ok=True)
  os.makedirs(log_dir, exist_ok=True)
  supervise_pid = ''
  if cpus is not None:
    env = dict(env, **thread_pools.environment(len(cpus)))
    command = ['taskset', '-c', format_cpu_list(cpus)] + list(command)
    supervise_pid = 'export SAC_SUPERVISE_PID=$PPID\n'
  exports = '\n'.join(f'export {k}={shlex.quote(v)}' for k, v in sorted(env.items()))
  _write_executable(os.path.join(service_dir, 'run'),
                    f'#!/bin/sh\nexec 2>&1\n{exports}\n{supervise_pid}exec {shlex.join(command)}\n')
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
    # Neither up nor down: no supervise answers for the service (or the dir is not one).
    self.supervised = self.up or self.text.startswith('down ')
    seconds = re.search(r'\b(\d+) seconds\b', self.text)
    self.seconds = int(seconds.group(1)) if seconds else None
    # Down, and supervise keeps it down (svc -d): not a crash supervise will restart.
    self.wanted_down = self.text.startswith('down ') and 'want up' not in self.text


def svstat(service_dir: str) -> ServiceStatus:
  return svstat_all([service_dir])[0]


def svstat_all(service_dirs: Sequence[str]) -> List[ServiceStatus]:
  """The state of each service, in order, from one svstat (it prints a line per dir)."""
  if not service_dirs:
    return []
  result = subprocess.run(['svstat', *service_dirs], capture_output=True, text=True, check=False)
  lines = result.stdout.splitlines()
  return [ServiceStatus(lines[i] if i < len(lines) else '') for i in range(len(service_dirs))]


def svc(option: str, service_dirs: Sequence[str]) -> None:
  if service_dirs:
    subprocess.run(['svc', option, *service_dirs], capture_output=True, check=False)


class Svscan:
  """One svscan over a directory of services, stopped with everything it started: the one this
  process starts, or one found running (its launcher is gone)."""

  def __init__(self, services_dir: str, pid: Optional[int] = None):
    self.services_dir = services_dir
    self.pid = pid
    self.process: Optional[subprocess.Popen] = None

  @classmethod
  def find(cls, services_dir: str) -> 'Svscan':
    """The svscan running over `services_dir`, if there is one (pid None otherwise)."""
    pids = processes.with_argv(['svscan', services_dir])
    return cls(services_dir, pids[0] if pids else None)

  def start(self) -> None:
    # Its own session: a Ctrl-C in the terminal reaches the launcher, which stops
    # the services in order, rather than every program at once.
    self.process = subprocess.Popen(['svscan', self.services_dir], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
    self.pid = self.process.pid

  def running(self) -> bool:
    if self.process is not None:
      return self.process.poll() is None
    return self.pid is not None and processes.alive(self.pid)

  def service_dirs(self) -> List[str]:
    if not os.path.isdir(self.services_dir):
      return []
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
           grace_s: float = STOP_GRACE_S) -> None:
    """Stops the `first` services, then the others, then every supervise and multilog,
    then svscan; by PID. A service that outlasts its grace period is killed."""
    services = self.service_dirs()
    logs = [os.path.join(d, 'log') for d in services]
    supervise_pids = self._children()
    service_pids = []
    for group, grace in ((list(first), first_grace_s),
                         ([d for d in services if d not in first], grace_s)):
      pids = [s.pid for s in svstat_all(group) if s.pid]
      service_pids += pids
      svc('-d', group)  # TERM, then no restart
      if not processes.wait_for_exit(pids, grace):
        svc('-k', group)
        processes.wait_for_exit(pids, 5.0)
    if self.running():
      processes.send(self.pid, signal.SIGTERM)
      if self.process is not None:
        self.process.wait()
      else:
        processes.wait_for_exit([self.pid], grace_s)
    # With svscan gone nothing restarts them: -x makes each supervise exit once
    # its service is down; multilog exits at the end of its input.
    svc('-dx', services + logs)
    log_pids = [s.pid for s in svstat_all(logs) if s.pid]
    if not processes.wait_for_exit(supervise_pids + log_pids, grace_s):
      for pid in supervise_pids + log_pids + service_pids:
        processes.send(pid, signal.SIGKILL)

  def _children(self) -> List[int]:
    if not self.running():
      return []
    try:
      with open(f'/proc/{self.pid}/task/{self.pid}/children') as f:
        return [int(p) for p in f.read().split()]
    except FileNotFoundError:
      return []


def main(argv: Sequence[str]) -> int:
  if len(argv) != 3 or argv[1] != 'pid':
    print(f'usage: {argv[0]} pid <service dir>', file=sys.stderr)
    return 2
  status = svstat(argv[2])
  if status.pid:
    print(status.pid)
  return 0 if status.supervised else 1


if __name__ == '__main__':
  sys.exit(main(sys.argv))
