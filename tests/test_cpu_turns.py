"""Workers pinned to the same CPUs take turns: real processes, real flocks, kill -9."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tfagents_system import REPO_ROOT
from tfagents_system.common.cpu_turns import CpuTurns

BOUND_S = 60

# A process that holds the turn of `cpus` for `hold_s` seconds and prints when it had it.
HOLDER = '''
import sys, time
from tfagents_system.common.cpu_turns import CpuTurns
turns = CpuTurns(sys.argv[1], wait_bound_s=60, cpus=[int(c) for c in sys.argv[2].split(",")])
with turns.turn() as waited_s:
  start = time.time()
  print("holding", flush=True)
  time.sleep(float(sys.argv[3]))
print(start, time.time(), waited_s, flush=True)
'''


def start_holder(turns_dir, cpus, hold_s):
  return subprocess.Popen([sys.executable, '-c', HOLDER, str(turns_dir), cpus, str(hold_s)],
                          stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                          env={**os.environ, 'PYTHONPATH': REPO_ROOT})


def held_interval(process):
  out, _ = process.communicate(timeout=BOUND_S)
  start, end, waited_s = (float(v) for v in out.split()[-3:])
  return start, end, waited_s


@pytest.fixture
def processes():
  started = []
  yield started
  for process in started:
    if process.poll() is None:
      os.kill(process.pid, signal.SIGKILL)
      process.wait(BOUND_S)


def test_processes_on_the_same_cpus_take_turns_and_others_do_not_wait(tmp_path, processes):
  processes += [start_holder(tmp_path, '0', 1.0) for _ in range(2)]
  processes.append(start_holder(tmp_path, '1', 1.0))
  (first, second), other = sorted(held_interval(p) for p in processes[:2]), held_interval(processes[2])
  assert second[0] >= first[1]  # one after the other
  assert second[2] >= 0.5  # and the second said it waited
  # CPU 1's process had its turn at once, before CPU 0's second had one.
  assert other[2] < 0.5 and other[0] < second[0]


def test_a_holder_killed_in_its_turn_hands_it_on(tmp_path, processes):
  processes.append(start_holder(tmp_path, '0', 3600))
  assert processes[0].stdout.readline() == 'holding\n'
  turns = CpuTurns(str(tmp_path), wait_bound_s=60, cpus=[0])
  os.kill(processes[0].pid, signal.SIGKILL)
  start = time.monotonic()
  with turns.turn() as waited_s:
    assert time.monotonic() - start < 10 and waited_s < 10


def test_the_wait_for_a_stuck_holder_has_a_bound_and_leaves_no_turn_taken(tmp_path, processes,
                                                                        caplog):
  processes.append(start_holder(tmp_path, '0', 3600))
  assert processes[0].stdout.readline() == 'holding\n'
  turns = CpuTurns(str(tmp_path), wait_bound_s=0.5, cpus=[0])
  with turns.turn() as waited_s:
    assert 0.5 <= waited_s < 5  # went on without the turn
  assert 'Waited 0.5 s for a turn on CPUs 0' in caplog.text
  # Once the stuck holder is gone, the turn given up on is released, not kept: the next process
  # gets it at once.
  os.kill(processes[0].pid, signal.SIGKILL)
  processes[0].wait(BOUND_S)
  time.sleep(0.5)
  processes.append(start_holder(tmp_path, '0', 0.0))
  assert held_interval(processes[1])[2] < 0.5
