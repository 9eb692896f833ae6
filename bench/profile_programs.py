"""Where the programs of a running system spend their time: py-spy samples every program of
a real run of the default example for a while and prints, per program, its CPU use and the
functions with the most samples (inclusive, idle threads left out). Not part of bench.sh; run
it to find the cause of a missed target.

  python -m bench.profile_programs [--workers N] [--seconds S] [--native] [--focus F] [--startup]
"""
import argparse
import collections
import os
import signal
import subprocess
import tempfile
import time

import psutil

from bench import common

PY_SPY = os.path.join(os.path.dirname(common.PYTHON), 'py-spy')
TOP_FUNCTIONS = 12
STARTUP_RECORD_S = 120  # a start-up longer than this is a failure to look into, not to profile


def record(pid: int, seconds: float, native: bool, out_path: str) -> subprocess.Popen:
  """py-spy record of one process, as collapsed stacks ('frame;frame;... count' lines)."""
  command = [PY_SPY, 'record', '--pid', str(pid), '--duration', str(int(seconds)), '--rate', '200',
             '--format', 'raw', '--output', out_path]
  # Native frames need the process paused while sampled; Python frames alone do not.
  return subprocess.Popen(command + (['--native'] if native else ['--nonblocking']),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_functions(collapsed_path: str, focus: str = ''):
  """[(share of samples, function)] by inclusive samples, leaving out the frames nearly every
  sample has (the program's main and its callers); only samples with a `focus` frame."""
  inclusive, total = collections.Counter(), 0
  with open(collapsed_path) as f:
    for line in f:
      stack, _, count = line.rstrip().rpartition(' ')
      if focus not in stack:
        continue
      total += int(count)
      for frame in set(stack.split(';')):
        inclusive[frame] += int(count)
  shares = [(count / total, frame) for frame, count in inclusive.most_common()]
  return [(share, frame) for share, frame in shares if share < 0.9][:TOP_FUNCTIONS]


def print_top_functions(name: str, collapsed_path: str, focus: str = '') -> None:
  print(f'\n{name}' + (f', samples in {focus}:' if focus else ':'))
  if os.path.exists(collapsed_path):
    for share, frame in top_functions(collapsed_path, focus):
      print(f'  {100 * share:5.1f}%  {frame}')


def _executable(pid: int) -> str:
  try:
    return os.readlink(f'/proc/{pid}/exe')
  except OSError:
    return ''


def program_pid_once_started(run: common.SystemRun, program: str):
  """The program's PID once supervise has exec'd its Python, else None."""
  if not os.path.exists(os.path.join(run.exp_dir, 'services', program, 'supervise')):
    return None
  pid = run.program_pid(program)
  return pid if pid and 'python' in _executable(pid) else None  # not the run file any more


def profile_start(programs, native: bool, out_dir: str) -> None:
  """Samples every program from the moment supervise starts it to the trainer's first SGD step,
  and prints each one's CPU seconds in that time."""
  recorders, processes = {}, {}
  with common.SystemRun('profile', workers=len(programs) - 2, num_iter=1000) as run:
    # Polled here, not with run.wait_for: the programs start before status.json exists.
    deadline = time.monotonic() + STARTUP_RECORD_S
    while 'first_sgd_step_at' not in (status := run.status() or {}):
      if time.monotonic() > deadline:
        raise TimeoutError(f'{run.name}: no first SGD step in {STARTUP_RECORD_S} s')
      for program in programs:
        if program not in recorders:
          pid = program_pid_once_started(run, program)
          if pid:
            recorders[program] = record(pid, STARTUP_RECORD_S, native,
                                        os.path.join(out_dir, program))
            processes[program] = psutil.Process(pid)
      time.sleep(0.02)
    cpu = {program: sum(p.cpu_times()[:2]) for program, p in processes.items()}
    for recorder in recorders.values():
      recorder.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
      recorder.wait(timeout=60)
    print(f'first SGD step {status["first_sgd_step_at"] - run.started_at:.1f}s after '
          'run_script.sh started')
  for program in programs:
    print_top_functions(f'{program} from its start to the first SGD step: '
                        f'{cpu.get(program, 0):.1f} CPU seconds', os.path.join(out_dir, program))
  print(f'\ncollapsed stacks (for flamegraph.pl or speedscope): {out_dir}')


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--workers', type=int, default=1)
  parser.add_argument('--seconds', type=float, default=15)
  parser.add_argument('--native', action='store_true', help='also sample C/C++ frames')
  parser.add_argument('--focus', default='',
                      help="only samples with a frame containing this, e.g. '_run_collect'")
  parser.add_argument('--startup', action='store_true',
                      help='profile every program from its start to the first SGD step instead')
  args = parser.parse_args()
  programs = ['sac_replay_buffer', 'sac_train'] + [f'sac_collect_{i}' for i in range(args.workers)]
  out_dir = tempfile.mkdtemp(prefix='bench_profile_')
  if args.startup:
    profile_start(programs, args.native, out_dir)
    return
  with common.SystemRun('profile', workers=args.workers, num_iter=1000) as run:
    run.wait_for(lambda status: status.get('iteration', 0) >= common.WARMUP_ITERATIONS)
    pids = {program: run.program_pid(program) for program in programs}
    processes = {program: psutil.Process(pid) for program, pid in pids.items()}
    cpu_before = {program: sum(p.cpu_times()[:2]) for program, p in processes.items()}
    recorders = [record(pid, args.seconds, args.native, os.path.join(out_dir, program))
                 for program, pid in pids.items()]
    start = time.monotonic()
    for recorder in recorders:
      recorder.wait()
    elapsed = time.monotonic() - start
    cpu = {program: (sum(p.cpu_times()[:2]) - cpu_before[program]) / elapsed
           for program, p in processes.items()}
  for program in programs:
    print_top_functions(f'{program}: {100 * cpu[program]:.0f}% of a CPU over {elapsed:.0f}s',
                        os.path.join(out_dir, program), args.focus)
  print(f'\ncollapsed stacks (for flamegraph.pl or speedscope): {out_dir}')


if __name__ == '__main__':
  main()
