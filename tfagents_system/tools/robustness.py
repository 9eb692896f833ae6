"""Robustness maps: the greedy policy of checkpoints on every cell of a grid of env parameters.

  python tfagents_system/run.py --params ... --exp_dir logs/<exp> --config ... \
      --checkpoint latest --sweep mass=0.5:2.0:7 --sweep friction=0.1:0.5:5 --num_episodes 10

Every episode runs on a fresh eval env: the curriculum values in force at the checkpoint's
iteration for the parameters not swept, then the cell's values, each given with
`set_state({name: value})` as the curriculum gives them. Episode e of cell c gets the env seed
(seed * cells + c) * num_episodes + e: each episode of a sweep starts from its own state, the
same for every checkpoint. Cells are evaluated by spawned processes (TensorFlow is not fork-safe),
each pinned to one CPU and loading the policy once per checkpoint. Results go to
<exp>/robustness/<checkpoint>/<parameters>.{csv,json,png} (robustness_figures.py draws them).
"""
import csv
import ctypes
import dataclasses
import datetime
import functools
import json
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

import imageio
import numpy as np

from tfagents_system.common import episode_measures
from tfagents_system.common.curriculum import ConfigError
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.common.params_loading import load_train_params
from tfagents_system.common.params_loading import ParamsError
from tfagents_system.launcher.progress_display import ProgressDisplay
from tfagents_system.launcher.progress_display import quiet_terminal
from tfagents_system.tools import policy_evaluation
from tfagents_system.tools import robustness_figures
from tfagents_system.tools.robustness_grid import Axis
from tfagents_system.tools.robustness_grid import cell_label
from tfagents_system.tools.robustness_grid import episode_seeds
from tfagents_system.tools.robustness_grid import grid_cells
from tfagents_system.tools.robustness_grid import parse_grid
from tfagents_system.tools.robustness_grid import SweepError
from tfagents_system.tools.robustness_grid import trained_range
from tfagents_system.train_params_base import EVAL_ENV

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
RESULT_POLL_S = 1.0  # how often the parent looks at its workers while it waits for a cell
WORKER_STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
STATS = ('mean_return', 'std_return', 'min_return', 'max_return',
         'mean_length', 'std_length', 'min_length', 'max_length')


class SweepFailed(RuntimeError):
  """The evaluation itself failed (the env or policy raised, a worker died), in one line;
  `detail`: the traceback, if any."""

  def __init__(self, message: str, detail: str = ''):
    super().__init__(message)
    self.detail = detail


@dataclasses.dataclass(frozen=True)
class SweepRequest:
  """run.py's flags for a sweep."""
  params: str
  config: str
  exp_dir: str
  sweeps: Sequence[str]
  checkpoints: str
  num_episodes: int
  seed: int
  jobs: Optional[int]
  curriculum_iter: Optional[int]
  video: bool
  video_fps: int
  cell_timeout_s: float


@dataclasses.dataclass(frozen=True)
class CheckpointPlan:
  path: str
  train_step: int
  iteration: int
  curriculum_iteration: int  # whose values the parameters not swept get
  fixed_values: Tuple[Tuple[str, float], ...]
  trained_ranges: Tuple[Optional[Tuple[float, float]], ...]  # one per axis

  @property
  def name(self) -> str:
    return os.path.basename(self.path)


@dataclasses.dataclass(frozen=True)
class SweepPlan:
  """Everything a worker process needs; tasks are numbered checkpoint-major over the cells."""
  params: str
  config: str
  params_overrides: Dict[str, Any]
  exp_dir: str
  axes: Tuple[Axis, ...]
  checkpoints: Tuple[CheckpointPlan, ...]
  num_episodes: int
  seed: int
  video_fps: Optional[int]  # None: no videos
  cell_timeout_s: float

  @functools.cached_property
  def cells(self) -> List[Tuple[float, ...]]:
    return grid_cells(self.axes)

  @property
  def names(self) -> List[str]:
    return [a.name for a in self.axes]

  @property
  def num_tasks(self) -> int:
    return len(self.checkpoints) * len(self.cells)

  def output_dir(self, checkpoint: CheckpointPlan) -> str:
    return os.path.join(ExperimentDir(self.exp_dir).robustness_dir, checkpoint.name)

  @property
  def file_stem(self) -> str:
    return '_'.join(self.names)


@dataclasses.dataclass(frozen=True)
class CellResult:
  checkpoint: int
  cell: int
  seeds: List[int]
  returns: List[float]
  lengths: List[int]
  measures: List[Dict[str, float]]  # the env's episode_measures(), per episode


@dataclasses.dataclass(frozen=True)
class CellStarted:
  checkpoint: int
  cell: int
  where: str


@dataclasses.dataclass(frozen=True)
class WorkerFailure:
  where: str
  traceback: str


def _checkpoint_paths(experiment: ExperimentDir, names: str) -> List[str]:
  if names == 'all':
    paths = experiment.policy_checkpoints()
    if not paths:
      raise SweepError(f'no policy checkpoint in {experiment.policy_checkpoints_dir}')
  else:
    try:
      paths = [policy_evaluation.policy_checkpoint(experiment, n.strip()) for n in names.split(',')]
    except policy_evaluation.CheckpointNotFound as e:
      raise SweepError(str(e)) from None
  return sorted(set(paths), key=policy_evaluation.checkpoint_train_step)


def _worker_cpus(jobs: Optional[int], num_tasks: int) -> List[int]:
  cpus = sorted(os.sched_getaffinity(0))
  if jobs is not None and not 1 <= jobs <= len(cpus):
    raise SweepError(f'--jobs must be between 1 and the {len(cpus)} CPUs this process may use, '
                     f'got {jobs}')
  return cpus[:min(jobs or len(cpus), num_tasks)]


def _check_env_takes(params, axes: Sequence[Axis], seed: int) -> None:
  """Each value, given to an eval env as the sweep will: the env names what it rejects."""
  env = params.create_env(EVAL_ENV, seed)
  try:
    for axis in axes:
      for value in axis.values:
        try:
          env.set_state({axis.name: value})
        except Exception as e:  # pylint: disable=broad-except
          first_line = (str(e).strip().splitlines() or [''])[0]
          raise SweepError(f'--sweep {axis.name}: the environment rejects '
                           f'set_state({{{axis.name!r}: {value:g}}}): '
                           f'{type(e).__name__}: {first_line}') from None
  finally:
    env.close()


def plan_sweep(request: SweepRequest) -> Tuple[SweepPlan, List[int]]:
  """Checks every input (SweepError, ConfigError, ParamsError) before anything runs; returns the
  plan and the CPUs of its worker processes."""
  axes = parse_grid(request.sweeps)
  if request.num_episodes < 1:
    raise SweepError(f'--num_episodes must be at least 1, got {request.num_episodes}')
  if request.seed < 0:
    raise SweepError(f'--seed must be >= 0 with --sweep, got {request.seed}')
  if request.cell_timeout_s <= 0:
    raise SweepError(f'--cell_timeout_s must be positive, got {request.cell_timeout_s:g}')
  experiment = ExperimentDir(request.exp_dir)
  # A hyperparameter sweep's task ran with these set on its TrainParams (the iteration of a
  # checkpoint depends on them too).
  overrides = experiment.read_params_overrides()
  params = load_train_params(request.params, request.config, overrides)
  paths = _checkpoint_paths(experiment, request.checkpoints)
  if not os.path.isdir(experiment.greedy_policy_dir):
    raise SweepError(f'no greedy policy SavedModel in {experiment.greedy_policy_dir}')
  _check_env_takes(params, axes, request.seed)

  curriculum = Curriculum.from_env_config(params.env_config)
  names = [a.name for a in axes]
  checkpoints = []
  for path in paths:
    train_step = policy_evaluation.checkpoint_train_step(path)
    iteration = policy_evaluation.checkpoint_iteration(train_step, params)
    curriculum_iteration = (request.curriculum_iter if request.curriculum_iter is not None
                            else iteration)
    fixed = tuple((n, v) for n, v in curriculum.values_at(curriculum_iteration).items()
                  if n not in names)
    checkpoints.append(CheckpointPlan(
        path, train_step, iteration, curriculum_iteration, fixed,
        tuple(trained_range(curriculum, n, iteration) for n in names)))
  plan = SweepPlan(request.params, request.config, overrides, experiment.root, tuple(axes),
                   tuple(checkpoints), request.num_episodes, request.seed,
                   request.video_fps if request.video else None, request.cell_timeout_s)
  return plan, _worker_cpus(request.jobs, plan.num_tasks)


# --- In the worker processes.

def evaluate_cell(params, policy, plan: SweepPlan, checkpoint: int, cell: int) -> CellResult:
  cells = plan.cells
  values = cells[cell]
  updates = plan.checkpoints[checkpoint].fixed_values + tuple(zip(plan.names, values))
  seeds = episode_seeds(plan.seed, len(cells), cell, plan.num_episodes)
  episodes = []
  for number, seed in enumerate(seeds):
    env = params.create_env(EVAL_ENV, seed)
    try:
      for name, value in updates:
        env.set_state({name: value})
      if plan.video_fps and number == 0:
        episodes.append(_recorded_episode(env, policy, plan, checkpoint, values))
      else:
        episodes.append(policy_evaluation.run_episode(env, policy))
    finally:
      env.close()
  return CellResult(checkpoint, cell, seeds, [e.total_return for e in episodes],
                    [e.length for e in episodes], [e.measures for e in episodes])


def _recorded_episode(env, policy, plan: SweepPlan, checkpoint: int,
                      values) -> policy_evaluation.Episode:
  video_dir = os.path.join(plan.output_dir(plan.checkpoints[checkpoint]), 'videos')
  os.makedirs(video_dir, exist_ok=True)
  path = os.path.join(video_dir, cell_label(plan.names, values) + '.mp4')
  with imageio.get_writer(path, fps=plan.video_fps, macro_block_size=1) as video:
    return policy_evaluation.run_episode(env, policy, video.append_data)


def _worker(plan: SweepPlan, cpu: int, next_task, results) -> None:
  """Takes the next task until none is left; a failure is reported, not raised."""
  ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # ends with run.py, even a kill -9
  os.sched_setaffinity(0, {cpu})
  # What it has to say goes through `results`; its stdout would be pybullet's prints (its env
  # modules' and its C client's), amid run.py's progress line.
  os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
  from absl import logging  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.WARNING)
  where = f'the worker process on CPU {cpu}'
  try:
    params = load_train_params(plan.params, plan.config, plan.params_overrides)
    cells = len(plan.cells)
    policy, loaded = None, None
    while True:
      with next_task.get_lock():
        task = next_task.value
        next_task.value += 1
      if task >= plan.num_tasks:
        return
      checkpoint, cell = divmod(task, cells)
      where = (f'{plan.checkpoints[checkpoint].name}, cell '
               f'{cell_label(plan.names, plan.cells[cell])}')
      if loaded != checkpoint:
        policy = policy or policy_evaluation.load_greedy_policy(ExperimentDir(plan.exp_dir))
        policy.update_from_checkpoint(plan.checkpoints[checkpoint].path)
        loaded = checkpoint
      results.put(CellStarted(checkpoint, cell, where))
      results.put(evaluate_cell(params, policy, plan, checkpoint, cell))
  except Exception:  # pylint: disable=broad-except
    results.put(WorkerFailure(where, traceback.format_exc()))


# --- In run.py's process.

def _processes(count: int) -> str:
  return f'{count} worker process' + ('es' if count != 1 else '')


def _progress_line(done: int, total: int, started: float, processes: int) -> str:
  elapsed = time.monotonic() - started
  filled = round(20 * done / total)
  parts = [f'robustness: cells {done}/{total} [{"#" * filled}{"." * (20 - filled)}]',
           _processes(processes), f'{datetime.timedelta(seconds=round(elapsed))} elapsed']
  if done:
    parts.append(f'ETA {datetime.timedelta(seconds=round(elapsed / done * (total - done)))}')
  return ' | '.join(parts)


def evaluate_in_processes(plan: SweepPlan, cpus: Sequence[int],
                          display: ProgressDisplay) -> List[CellResult]:
  """Every task, by one spawned process per CPU of `cpus`; stops them all on any way out."""
  context = multiprocessing.get_context('spawn')
  next_task = context.Value('q', 0)
  results = context.Queue()
  # The workers inherit this environment at spawn: TensorFlow's C++ start-up chatter stays off.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  started = time.monotonic()
  display.show(_progress_line(0, plan.num_tasks, started, len(cpus)))
  workers = []
  # Born ignoring SIGINT (Python keeps an ignored SIGINT ignored), so that a Ctrl-C at the
  # terminal, which reaches the whole process group, is handled here alone: this process stops them.
  previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    for cpu in cpus:
      worker = context.Process(target=_worker, args=(plan, cpu, next_task, results),
                               name=f'robustness_cpu{cpu}', daemon=True)
      worker.start()
      workers.append(worker)
  finally:
    signal.signal(signal.SIGINT, previous)
  collected = []
  running = {}  # (checkpoint, cell) -> (where, when it started)
  try:
    while len(collected) < plan.num_tasks:
      try:
        message = results.get(timeout=RESULT_POLL_S)
      except queue.Empty:
        _check_workers(workers, plan.num_tasks - len(collected), results)
      else:
        if isinstance(message, WorkerFailure):
          raise SweepFailed(f'{message.where}: {message.traceback.strip().splitlines()[-1]}',
                            message.traceback)
        if isinstance(message, CellStarted):
          running[message.checkpoint, message.cell] = message.where, time.monotonic()
        else:
          running.pop((message.checkpoint, message.cell), None)
          collected.append(message)
      _check_cells_finish(running, plan.cell_timeout_s)
      display.show(_progress_line(len(collected), plan.num_tasks, started, len(cpus)))
  finally:
    _stop(workers)
  return sorted(collected, key=lambda r: (r.checkpoint, r.cell))


def _check_workers(workers, missing: int, results) -> None:
  dead = [w for w in workers if w.exitcode not in (None, 0)]
  if dead:
    raise SweepFailed(f'worker process {dead[0].pid} ({dead[0].name}) died with exit code '
                      f'{dead[0].exitcode}')
  if all(w.exitcode == 0 for w in workers) and results.empty():
    raise SweepFailed(f'the worker processes ended with {missing} cells not evaluated')


def _check_cells_finish(running, timeout_s: float) -> None:
  for where, started in running.values():
    if time.monotonic() - started > timeout_s:
      raise SweepFailed(f'{where}: not evaluated within {timeout_s:g} s (--cell_timeout_s); '
                        'its env or policy may be stuck, or its episodes need a longer timeout')


def _stop(workers) -> None:
  for worker in workers:
    if worker.is_alive():
      worker.terminate()
  for worker in workers:
    worker.join(WORKER_STOP_TIMEOUT_S)
    if worker.is_alive():
      worker.kill()
      worker.join(WORKER_STOP_TIMEOUT_S)
  stuck = [w.pid for w in workers if w.is_alive()]
  if stuck:  # SIGKILL did not end them (e.g. stuck in the kernel): say so rather than wait
    raise SweepFailed(f'worker processes {stuck} did not end after SIGKILL')


def checkpoint_report(plan: SweepPlan, index: int, cells: Sequence[CellResult]) -> Dict[str, Any]:
  """What the JSON holds for one checkpoint (the figures are drawn from it too)."""
  checkpoint = plan.checkpoints[index]
  grid = plan.cells
  rows = []
  for result in cells:
    returns, lengths = np.array(result.returns), np.array(result.lengths)
    rows.append({
        'values': dict(zip(plan.names, grid[result.cell])),
        'episodes': len(returns),
        'mean_return': float(returns.mean()), 'std_return': float(returns.std()),
        'min_return': float(returns.min()), 'max_return': float(returns.max()),
        'mean_length': float(lengths.mean()), 'std_length': float(lengths.std()),
        'min_length': int(lengths.min()), 'max_length': int(lengths.max()),
        **{'mean_' + name: value
           for name, value in episode_measures.means(result.measures).items()},
        'episode_seeds': result.seeds, 'returns': result.returns, 'lengths': result.lengths,
        'measures': result.measures})
  return {
      'checkpoint': checkpoint.name, 'train_step': checkpoint.train_step,
      'iteration': checkpoint.iteration,
      'parameters': [{'name': a.name, 'values': list(a.values), 'trained_range':
                      list(r) if r else None}
                     for a, r in zip(plan.axes, checkpoint.trained_ranges)],
      'params_overrides': plan.params_overrides,
      'curriculum_iteration': checkpoint.curriculum_iteration,
      'fixed_curriculum_values': dict(checkpoint.fixed_values),
      'num_episodes': plan.num_episodes, 'seed': plan.seed,
      'measures': sorted({name for result in cells for m in result.measures for name in m}),
      'cells': rows}


def write_report(report: Dict[str, Any], stem: str) -> Dict[str, str]:
  """CSV, JSON and PNG of one checkpoint; returns their paths by extension."""
  names = [p['name'] for p in report['parameters']]
  paths = {ext: f'{stem}.{ext}' for ext in ('csv', 'json', 'png')}
  os.makedirs(os.path.dirname(stem), exist_ok=True)
  with open(paths['csv'], 'w', newline='') as f:
    writer = csv.writer(f)
    stats = list(STATS) + ['mean_' + name for name in report['measures']]
    writer.writerow(names + ['episodes'] + stats)
    for row in report['cells']:
      writer.writerow([row['values'][n] for n in names] + [row['episodes']] +
                      [row.get(s, '') for s in stats])
  with open(paths['json'], 'w') as f:
    json.dump(report, f, indent=1)
  robustness_figures.save(robustness_figures.checkpoint_figure(report), paths['png'])
  return paths


def _range_text(name: str, trained: Optional[Sequence[float]]) -> str:
  if trained is None:
    return f'{name} not yet in the curriculum (the env kept its own value)'
  return f'{name} [{trained[0]:.4g}, {trained[1]:.4g}]'


def format_table(report: Dict[str, Any]) -> str:
  names = [p['name'] for p in report['parameters']]
  trained = ', '.join(_range_text(p['name'], p['trained_range']) for p in report['parameters'])
  header = names + ['mean return', 'std', 'min', 'max', 'mean length'] + report['measures']
  rows = [[f"{row['values'][n]:g}" for n in names] +
          [f"{row[s]:.2f}" for s in ('mean_return', 'std_return', 'min_return', 'max_return')] +
          [f"{row['mean_length']:.1f}"] +
          [f"{row['mean_' + m]:.2f}" if 'mean_' + m in row else '' for m in report['measures']]
          for row in report['cells']]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
  lines = [f"{report['checkpoint']} (train step {report['train_step']:,}, iteration "
           f"{report['iteration']}; trained on {trained}), {report['num_episodes']} episodes "
           'per cell:']
  for row in [header] + rows:
    lines.append('  ' + '  '.join(v.rjust(w) for v, w in zip(row, widths)))
  return '\n'.join(lines)


def main(request: SweepRequest) -> int:
  display = ProgressDisplay(sys.stdout)
  try:
    with quiet_terminal():  # the params' env modules print as they load
      plan, cpus = plan_sweep(request)
    started = time.monotonic()
    results = evaluate_in_processes(plan, cpus, display)
  except (SweepError, ConfigError, ParamsError) as e:
    print(f'error: {e}', file=sys.stderr)
    return EXIT_BAD_INPUT
  except KeyboardInterrupt:
    display.message('interrupted: the sweep stopped, its worker processes too; nothing written')
    return EXIT_INTERRUPTED
  except SweepFailed as e:
    if e.detail:
      display.message(e.detail.rstrip())
    display.message(f'error: {e}')
    return EXIT_FAILED
  display.message(f'evaluated {len(plan.checkpoints)} checkpoint(s) x {len(plan.cells):,} cells x '
                  f'{plan.num_episodes} episodes in '
                  f'{datetime.timedelta(seconds=round(time.monotonic() - started))} with '
                  f'{_processes(len(cpus))}')
  reports = []
  for index, checkpoint in enumerate(plan.checkpoints):
    report = checkpoint_report(plan, index, [r for r in results if r.checkpoint == index])
    paths = write_report(report, os.path.join(plan.output_dir(checkpoint), plan.file_stem))
    print(format_table(report))
    print('  written: ' + ', '.join(paths.values()))
    reports.append(report)
  if len(reports) > 1:
    path = os.path.join(ExperimentDir(plan.exp_dir).robustness_dir,
                        f'{plan.file_stem}_by_checkpoint.png')
    robustness_figures.save(robustness_figures.comparison_figure(reports), path)
    print(f'checkpoints compared: {path}')
  return 0
