"""Processes as /proc shows them (alive or not, command line, working dir); ending them by PID."""
import os
import signal
import time
from typing import Iterator, List, Sequence, Tuple


def alive(pid: int) -> bool:
  """Running, not a zombie waiting for its parent to reap it."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      return f.read().rsplit(') ', 1)[-1].split()[0] != 'Z'
  except (FileNotFoundError, ProcessLookupError):
    return False


def wait_for_exit(pids: Sequence[int], timeout_s: float) -> bool:
  deadline = time.monotonic() + timeout_s
  while any(alive(p) for p in pids):
    if time.monotonic() > deadline:
      return False
    time.sleep(0.05)
  return True


def send(pid: int, signum: int) -> None:
  try:
    os.kill(pid, signum)
  except ProcessLookupError:
    pass


def live() -> Iterator[Tuple[int, List[str], str]]:
  """(pid, argv, working dir) of every live process this user may look at."""
  for name in os.listdir('/proc'):
    if not name.isdigit():
      continue
    pid = int(name)
    try:
      with open(f'/proc/{pid}/cmdline', 'rb') as f:
        argv = f.read().decode(errors='replace').split('\0')[:-1]
      cwd = os.readlink(f'/proc/{pid}/cwd')
    except (FileNotFoundError, ProcessLookupError, PermissionError):
      continue
    if argv and alive(pid):
      yield pid, argv, cwd


def with_argv(argv: Sequence[str]) -> List[int]:
  return [pid for pid, args, _ in live() if args == list(argv)]


def describe(pid: int) -> str:
  """'<pid> <program>', the program being a Python module's name or the executable's."""
  try:
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      argv = f.read().decode(errors='replace').split('\0')[:-1]
  except (FileNotFoundError, ProcessLookupError):
    return str(pid)
  if '-m' in argv[:-1]:
    return f"{pid} {argv[argv.index('-m') + 1].rsplit('.', 1)[-1]}"
  return f'{pid} {os.path.basename(argv[0])}' if argv else str(pid)


def end(pids: Sequence[int], grace_s: float) -> None:
  """SIGTERM, then SIGKILL to those still running after `grace_s`."""
  for pid in pids:
    send(pid, signal.SIGTERM)
  if not wait_for_exit(pids, grace_s):
    for pid in pids:
      send(pid, signal.SIGKILL)
    wait_for_exit(pids, grace_s)
