"""The tasks of a sweep on this machine, without SLURM:

  ./scripts/sweep_local.sh --sweep SWEEP_JSON [--tasks LIST] [--dry-run] <variables file>

Each task is `run_script.sh <variables file>` with SAC_SWEEP and SAC_SWEEP_TASK naming it, as a
SLURM array task would be. As many run at once as there are CPUs for, the formula of
slurm/submit.sh per task, each under taskset on CPUs of its own (the launcher plans its programs
inside those); with fewer CPUs than one task asks for, one at a time on all of them. A task's
output goes to logs/<exp>/<task name>.out. Ctrl-C or SIGTERM stops the running tasks as it stops
a run (checkpoints first) and starts no more.
"""
import dataclasses
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List, Sequence

from tfagents_system import REPO_ROOT
from tfagents_system.common import experiment_dir
from tfagents_system.launcher import exit_codes
from tfagents_system.launcher import run_settings
from tfagents_system.launcher import slurm_job
from tfagents_system.launcher import sweep
from tfagents_system.launcher.cpu_plan import format_cpu_list
from tfagents_system.launcher.progress_display import format_progress

RUN_SCRIPT = os.path.join(REPO_ROOT, 'run_script.sh')
# A stopped launcher waits at most 2 minutes for its trainer's checkpoint, then stops the rest.
STOP_TIMEOUT_S = 200
COMPLETED, STOPPED, FAILED = 'completed', 'stopped', 'failed'


def cpu_slots(cpus: Sequence[int], per_task: int) -> List[List[int]]:
  """Disjoint CPU sets of `per_task` CPUs, as many as `cpus` hold; all of them as one set when
  they hold fewer than two."""
  count = len(cpus) // per_task
  if count < 2:
    return [list(cpus)]
  return [list(cpus[i * per_task:(i + 1) * per_task]) for i in range(count)]


@dataclasses.dataclass
class Running:
  task: sweep.Task
  process: subprocess.Popen
  slot: List[int]
  output: str


def outcome(exit_code: int, experiment: experiment_dir.ExperimentDir) -> str:
  """The launcher exits 0 when its run completed or was stopped; status.json tells them apart."""
  if exit_code != 0:
    return FAILED
  return COMPLETED if (experiment.read_status() or {}).get('done') else STOPPED


def last_error(output: str) -> str:
  """The launcher's one-line error, if its output has one."""
  try:
    with open(output, errors='replace') as f:
      errors = [line.strip() for line in f if line.startswith('error: ')]
  except FileNotFoundError:
    return ''
  return errors[-1] if errors else ''


def run_tasks(plan: sweep.SweepPlan, slots: List[List[int]], variables_file: str) -> Dict[int, str]:
  """Runs the plan's tasks, at most one per slot at a time; {task index: outcome}."""
  pending, running, results = plan.tasks(), [], {}
  free = list(slots)
  stop_requests = []

  def request_stop(signum, _):
    if not stop_requests:
      print(f'{signal.Signals(signum).name}: stopping the running tasks, starting no more',
            flush=True)
    stop_requests.append(signum)
    for run in running:
      run.process.send_signal(signal.SIGTERM)  # the launcher stops its run cleanly

  for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, request_stop)
  stop_deadline = None
  while running or (pending and not stop_requests):
    while pending and free and not stop_requests:
      task, slot = pending.pop(0), free.pop(0)
      output = os.path.join(plan.sweep_dir, f'{task.name}.out')
      with open(output, 'ab') as f:
        # A session of its own: a signal reaches the tasks only through request_stop.
        process = subprocess.Popen(
            ['taskset', '-c', format_cpu_list(slot), RUN_SCRIPT, variables_file],
            stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, SAC_SWEEP=plan.manifest_file, SAC_SWEEP_TASK=str(task.index)))
      running.append(Running(task, process, slot, output))
      print(f'task {task.index} {task.name}: started on CPUs {format_cpu_list(slot)}; '
            f'output in {output}', flush=True)
    time.sleep(0.5)
    if stop_requests and stop_deadline is None:
      stop_deadline = time.monotonic() + STOP_TIMEOUT_S
    for run in [r for r in running if r.process.poll() is not None]:
      running.remove(run)
      free.append(run.slot)
      experiment = experiment_dir.ExperimentDir(sweep.task_dir(plan.manifest_file, run.task))
      results[run.task.index] = outcome(run.process.returncode, experiment)
      status = experiment.read_status()
      detail = format_progress(status) if status else 'no progress recorded'
      if results[run.task.index] == FAILED:
        error = last_error(run.output) or f'exit {run.process.returncode}'
        detail = f'{error}; see {run.output}'
      print(f'task {run.task.index} {run.task.name}: {results[run.task.index]} | {detail}',
            flush=True)
    if stop_deadline is not None and time.monotonic() > stop_deadline:
      for run in running:
        print(f'task {run.task.index}: its launcher (pid {run.process.pid}) did not stop within '
              f'{STOP_TIMEOUT_S} s; killing it (its guard stops its programs)', flush=True)
        run.process.kill()
      stop_deadline = float('inf')  # the next polls collect them
  return results


def main(argv: Sequence[str]) -> int:
  parser = sweep.argument_parser(
      './scripts/sweep_local.sh', 'Runs the tasks of a sweep here, without SLURM.')
  args = parser.parse_args(argv[1:])
  if not args.sweep:
    parser.error('--sweep SWEEP_JSON is required')
  try:
    settings = run_settings.RunSettings.from_environ(os.environ)
    plan = sweep.plan(args.sweep, settings.params, settings.config,
                      experiment_dir.experiment_root(settings.exp_name), args.tasks)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    return exit_codes.BAD_INPUTS
  per_task = slurm_job.cpus_to_request(settings)
  slots = cpu_slots(sorted(os.sched_getaffinity(0)), per_task)
  print(plan.describe(per_task))
  if not plan.selected:
    print('every task of the sweep is done; nothing to run')
    return 0
  print(f'{len(slots)} task{"s" if len(slots) > 1 else ""} at a time, on CPUs '
        + '; '.join(format_cpu_list(slot) for slot in slots), flush=True)
  if args.dry_run:
    return 0
  plan.write_manifest()
  results = run_tasks(plan, slots, os.path.abspath(args.variables_file))
  completed = [i for i, result in results.items() if result == COMPLETED]
  others = [i for i in plan.selected if i not in completed]
  print(f'sweep {plan.sweep_dir}: {len(completed)} of {len(plan.selected)} tasks completed'
        + (f'; run the others again with --tasks {",".join(map(str, others))}' if others else '')
        + f'; plot: python -m tfagents_system.tools.plot --sweep {plan.sweep_dir}')
  return 0 if not others else 1


if __name__ == '__main__':
  sys.exit(main(sys.argv))
