"""Learning curves of one or more runs as PNG files, drawn from their TensorBoard summaries.

  python -m tfagents_system.tools.plot logs/<exp> [logs/<exp2> ...] [--out DIR]
  python -m tfagents_system.tools.plot --sweep logs/<exp> [--out DIR]

Several runs (e.g. the seeds of an array job) are overlaid: each run a thin line, with their
mean and min-max band over the x range they all cover. A sweep's runs (sweep.py) are grouped by
combination: one curve per combination, the mean over its seeds with their min-max band, and a
table of the combinations, best final eval return first, as markdown and CSV.
"""
import csv
import dataclasses
import glob
import itertools
import logging
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# Set before TensorFlow loads (tensorboard imports it): its start-up chatter on stderr
# would bury the paths printed and the one-line errors.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from tfagents_system.common import summary_tags as tags
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import sweep
# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('out', None, 'Dir for the PNG files; default: <first experiment dir>/plots.')
flags.DEFINE_boolean('sweep', False, "The dir given is a sweep's (slurm/submit.sh --sweep): its "
                     'combinations, each the mean of its seeds, and their table.')

FLAGS = flags.FLAGS

# The accumulator's default keeps a sample of each tag; a curve needs every point.
KEEP_EVERY_EVENT = {event_accumulator.TENSORS: 0}
GRID_POINTS = 200


class NoSummariesError(ValueError):
  """A dir has no TensorBoard summaries to plot, in one line."""


@dataclasses.dataclass
class Series:
  """One tag's values in train step order."""
  steps: np.ndarray
  seconds: np.ndarray  # wall time since the run's first event
  values: np.ndarray


@dataclasses.dataclass
class Run:
  name: str
  train: Dict[str, Series]
  eval: Dict[str, Series]


def load_runs(exp_dirs: Sequence[str]) -> List[Run]:
  """Checks every dir before reading any: a wrong one fails at once, before TensorFlow loads."""
  found = [(exp_dir, summary_dirs(exp_dir)) for exp_dir in exp_dirs]
  return [_load_run(exp_dir, event_dirs) for exp_dir, event_dirs in found]


def summary_dirs(exp_dir: str) -> Dict[str, str]:
  """{'train': dir, 'eval': dir}, those of the two that hold event files."""
  experiment = ExperimentDir(exp_dir)
  event_dirs = {split: event_dir for split, event_dir in (('train', experiment.train_dir),
                                                          ('eval', experiment.eval_dir))
                if glob.glob(os.path.join(event_dir, 'events.out.tfevents.*'))}
  if not event_dirs:
    raise NoSummariesError(
        f'{exp_dir}: no TensorBoard summaries (no event files in train/ or eval/)')
  return event_dirs


def _load_run(exp_dir: str, event_dirs: Dict[str, str]) -> Run:
  accumulators = {
      split: event_accumulator.EventAccumulator(event_dir, size_guidance=KEEP_EVERY_EVENT).Reload()
      for split, event_dir in event_dirs.items()}
  start = min(a.FirstEventTimestamp() for a in accumulators.values())
  series = {split: _read_series(a, start) for split, a in accumulators.items()}
  name = os.path.basename(ExperimentDir(exp_dir).root)
  return Run(name, series.get('train', {}), series.get('eval', {}))


def _read_series(accumulator, start: float) -> Dict[str, Series]:
  """Every scalar tag (tf.summary.scalar writes them as tensors of the scalars plugin)."""
  series = {}
  for tag in accumulator.Tags()[event_accumulator.TENSORS]:
    if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == 'scalars':
      series[tag] = _to_series(
          [(e.step, e.wall_time, float(tensor_util.make_ndarray(e.tensor_proto)))
           for e in accumulator.Tensors(tag)], start)
  return series


def _to_series(rows, start: float) -> Series:
  steps, wall_times, values = (np.array(column, dtype=float) for column in zip(*sorted(rows)))
  return Series(steps, wall_times - start, values)


# A curve is a run's (x, y) for one panel, or None when the run has not logged it.
Curve = Callable[[Run], Optional[Tuple[np.ndarray, np.ndarray]]]


def against_env_steps(split: str, tag: str) -> Curve:
  """The env step count is its own tag, logged in each split at the steps the values are."""
  def curve(run):
    series = getattr(run, split)
    if tag not in series or tags.ENV_STEPS not in series:
      return None
    env_steps, values = series[tags.ENV_STEPS], series[tag]
    _, at_x, at_y = np.intersect1d(env_steps.steps, values.steps, return_indices=True)
    return env_steps.values[at_x], values.values[at_y]
  return curve


def against_wall_time(split: str, tag: str) -> Curve:
  def curve(run):
    series = getattr(run, split).get(tag)
    return None if series is None else (series.seconds / 60.0, series.values)
  return curve


def against_iteration(tag: str) -> Curve:
  def curve(run):
    series, iterations = run.train.get(tag), run.train.get(tags.ITERATION)
    if series is None or iterations is None:
      return None
    return steps_to_iterations(series.steps, iterations), series.values
  return curve


def steps_to_iterations(steps: np.ndarray, iterations: Series) -> np.ndarray:
  """Train steps as iterations, from the steps Metrics/Iteration was logged at.

  The Learner logs losses at its own steps (step 0, before iteration 0, among them), so
  between logged iterations they are interpolated, and beyond them the end segments extended.
  """
  known_steps, known = iterations.steps, iterations.values
  result = np.interp(steps, known_steps, known)
  if len(known_steps) >= 2:
    before, after = steps < known_steps[0], steps > known_steps[-1]
    first_slope = (known[1] - known[0]) / (known_steps[1] - known_steps[0])
    last_slope = (known[-1] - known[-2]) / (known_steps[-1] - known_steps[-2])
    result[before] = known[0] + (steps[before] - known_steps[0]) * first_slope
    result[after] = known[-1] + (steps[after] - known_steps[-1]) * last_slope
  return result


@dataclasses.dataclass
class Panel:
  title: str
  xlabel: str
  ylabel: str
  curve: Curve


def figure_panels(runs: Sequence[Run]) -> Dict[str, List[Panel]]:
  """Which panels each PNG has; curriculum.png only when some run has a curriculum,
  measures.png only when some run's evaluations record episode measures."""
  figures = {
      'returns': [
          Panel('Eval return vs env steps', 'env steps', 'return',
                against_env_steps('eval', tags.RETURN)),
          Panel('Collect return vs env steps', 'env steps', 'return',
                against_env_steps('train', tags.RETURN)),
          Panel('Eval return vs wall time', 'wall time (min)', 'return',
                against_wall_time('eval', tags.RETURN)),
          Panel('Collect return vs wall time', 'wall time (min)', 'return',
                against_wall_time('train', tags.RETURN)),
      ],
      'losses': [Panel(tag, 'iteration', tag.split('/')[-1], against_iteration(tag))
                 for tag in tags.LOSS_TAGS + (tags.ALPHA,)],
      'throughput': [
          Panel('Env steps per second', 'iteration', 'env steps/s',
                against_iteration(tags.ENV_STEPS_PER_SEC)),
          Panel('SGD steps per second', 'iteration', 'SGD steps/s',
                against_iteration(tags.SGD_STEPS_PER_SEC)),
      ],
  }
  curriculum = sorted({tag for run in runs for tag in run.train
                       if tag.startswith(tags.CURRICULUM_PREFIX)})
  if curriculum:
    figures['curriculum'] = [Panel(tag, 'iteration', tag[len(tags.CURRICULUM_PREFIX):],
                                   against_iteration(tag)) for tag in curriculum]
  measures = sorted({tag for run in runs for tag in run.eval
                     if tag.startswith(tags.EPISODE_MEASURES_PREFIX)})
  if measures:
    figures['measures'] = [
        panel for tag in measures for panel in (
            Panel(f'Eval {tag[len(tags.EPISODE_MEASURES_PREFIX):]} vs env steps', 'env steps',
                  tag[len(tags.EPISODE_MEASURES_PREFIX):], against_env_steps('eval', tag)),
            Panel(f'Eval {tag[len(tags.EPISODE_MEASURES_PREFIX):]} vs wall time',
                  'wall time (min)', tag[len(tags.EPISODE_MEASURES_PREFIX):],
                  against_wall_time('eval', tag)))]
  return figures


def build_figures(runs: Sequence[Run]) -> Dict[str, Figure]:
  """One figure per PNG, named by its file name without '.png'."""
  figures = {}
  for name, panels in figure_panels(runs).items():
    columns = 2 if len(panels) % 2 == 0 else min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(6 * columns, 4 * rows), layout='constrained')
    FigureCanvasAgg(figure)  # draws into memory: no display needed, e.g. on a cluster node
    figure.suptitle(_runs_title(runs))
    for index, panel in enumerate(panels):
      _draw(figure.add_subplot(rows, columns, index + 1), panel, runs)
    figures[name] = figure
  return figures


def _runs_title(runs: Sequence[Run]) -> str:
  names = ', '.join(run.name for run in runs)
  return names if len(runs) == 1 else f'{len(runs)} runs: {names}'


def _draw(axes, panel: Panel, runs: Sequence[Run]) -> None:
  axes.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
  curves = [(run.name, panel.curve(run)) for run in runs]
  curves = [(name, xy) for name, xy in curves if xy is not None and len(xy[0])]
  if not curves:
    axes.text(0.5, 0.5, 'no data', transform=axes.transAxes, ha='center', va='center')
    return
  several = len(curves) > 1
  for name, (x, y) in curves:
    axes.plot(x, y, linewidth=0.8, alpha=0.6 if several else 1.0, label=name)
  common = _on_common_grid([xy for _, xy in curves]) if several else None
  if common is not None:
    grid, values = common
    axes.fill_between(grid, values.min(axis=0), values.max(axis=0), color='grey', alpha=0.25,
                      label='min-max')
    axes.plot(grid, values.mean(axis=0), color='black', linewidth=2,
              label=f'mean of {len(curves)}')
  axes.legend(fontsize='x-small')


def _on_common_grid(curves) -> Optional[Tuple[np.ndarray, np.ndarray]]:
  """The runs interpolated onto the x range all of them cover (runs log at different x)."""
  low = max(x.min() for x, _ in curves)
  high = min(x.max() for x, _ in curves)
  if low >= high:
    return None
  grid = np.linspace(low, high, GRID_POINTS)
  return grid, np.array([np.interp(grid, x, y) for x, y in curves])


@dataclasses.dataclass
class Combination:
  """A sweep's runs of one combination of values, one per seed."""
  name: str
  overrides: Dict[str, object]
  runs: List[Run]
  missing: List[str]  # its tasks without summaries (not started yet, or failed early)


def load_sweep(sweep_dir: str) -> List[Combination]:
  """The sweep's combinations in its manifest's order, each with the runs that have summaries."""
  manifest = sweep.manifest_path(sweep_dir)
  combinations: Dict[str, Combination] = {}
  for task in sweep.manifest_tasks(sweep.read_manifest(manifest)):
    combination = combinations.setdefault(
        task.combination, Combination(task.combination, task.overrides, [], []))
    exp_dir = sweep.task_dir(manifest, task)
    try:
      combination.runs.append(_load_run(exp_dir, summary_dirs(exp_dir)))
    except NoSummariesError:
      combination.missing.append(task.name)
  if not any(c.runs for c in combinations.values()):
    raise NoSummariesError(f'{sweep_dir}: no task of the sweep has TensorBoard summaries yet')
  return list(combinations.values())


@dataclasses.dataclass
class RunOutcome:
  final_eval_return: float  # NaN when the run has not evaluated yet
  best_eval_return: float
  env_steps: float
  wall_minutes: float  # from its first summary to its last


def run_outcome(run: Run) -> RunOutcome:
  returns = run.eval.get(tags.RETURN)
  evaluated = returns is not None and len(returns.values) > 0
  env_steps = run.train.get(tags.ENV_STEPS)
  return RunOutcome(
      returns.values[-1] if evaluated else np.nan, returns.values.max() if evaluated else np.nan,
      env_steps.values[-1] if env_steps is not None else np.nan,
      max(s.seconds[-1] for split in (run.train, run.eval) for s in split.values()) / 60.0)


def mean_and_std(values: Sequence[float]) -> Tuple[float, float]:
  """Over the seeds that have a value: the mean and the sample standard deviation (0 for one)."""
  known = np.array([v for v in values if not np.isnan(v)])
  if not len(known):
    return np.nan, np.nan
  return known.mean(), known.std(ddof=1) if len(known) > 1 else 0.0


@dataclasses.dataclass
class SweepRow:
  combination: Combination
  final: Tuple[float, float]  # eval return, mean and std over the seeds
  best: Tuple[float, float]
  env_steps: float  # mean over the seeds
  wall_minutes: float


def sweep_table(combinations: Sequence[Combination]) -> List[SweepRow]:
  """A row per combination with runs, the best final eval return first (none: last)."""
  rows = []
  for combination in combinations:
    if not combination.runs:
      continue
    outcomes = [run_outcome(run) for run in combination.runs]
    rows.append(SweepRow(combination,
                         mean_and_std([o.final_eval_return for o in outcomes]),
                         mean_and_std([o.best_eval_return for o in outcomes]),
                         float(np.nanmean([o.env_steps for o in outcomes])),
                         float(np.mean([o.wall_minutes for o in outcomes]))))
  return sorted(rows, key=lambda r: (np.isnan(r.final[0]), -np.nan_to_num(r.final[0]),
                                     -np.nan_to_num(r.best[0])))


def _mean_std_text(mean_std: Tuple[float, float]) -> str:
  mean, std = mean_std
  return '-' if np.isnan(mean) else f'{mean:.2f} ± {std:.2f}'


def sweep_markdown(rows: Sequence[SweepRow]) -> str:
  lines = ['| rank | combination | seeds | final eval return | best eval return | env steps '
           '| wall time (min) |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |']
  for rank, row in enumerate(rows, 1):
    lines.append(f'| {rank} | {row.combination.name} | {len(row.combination.runs)} '
                 f'| {_mean_std_text(row.final)} | {_mean_std_text(row.best)} '
                 f'| {row.env_steps:,.0f} | {row.wall_minutes:.1f} |')
  return '\n'.join(lines) + '\n'


def write_sweep_csv(rows: Sequence[SweepRow], path: str) -> None:
  """A column per overridden attribute too, for analysis elsewhere."""
  attributes = list(dict.fromkeys(a for row in rows for a in row.combination.overrides))
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['rank', 'combination', *attributes, 'seeds', 'final_eval_return_mean',
                     'final_eval_return_std', 'best_eval_return_mean', 'best_eval_return_std',
                     'env_steps', 'wall_time_min'])
    for rank, row in enumerate(rows, 1):
      writer.writerow([rank, row.combination.name,
                       *(row.combination.overrides.get(a) for a in attributes),
                       len(row.combination.runs), *row.final, *row.best, row.env_steps,
                       row.wall_minutes])


SWEEP_PANELS = (Panel('Eval return vs env steps', 'env steps', 'return',
                      against_env_steps('eval', tags.RETURN)),
                Panel('Collect return vs env steps', 'env steps', 'return',
                      against_env_steps('train', tags.RETURN)))


def build_sweep_figure(sweep_dir: str, rows: Sequence[SweepRow]) -> Figure:
  """One curve per combination, best first: the mean over its seeds and their min-max band."""
  figure = Figure(figsize=(14, 5), layout='constrained')
  FigureCanvasAgg(figure)
  figure.suptitle(f'sweep {os.path.basename(os.path.abspath(sweep_dir))}: '
                  f'{len(rows)} combinations, mean and min-max over seeds')
  for index, panel in enumerate(SWEEP_PANELS):
    axes = figure.add_subplot(1, len(SWEEP_PANELS), index + 1)
    axes.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
    for row, color in zip(rows, itertools.cycle(f'C{i}' for i in range(10))):  # matplotlib's cycle
      curves = [xy for xy in map(panel.curve, row.combination.runs)
                if xy is not None and len(xy[0])]
      label = f'{row.combination.name} ({sweep.plural(len(curves), "seed")})'
      common = _on_common_grid(curves) if len(curves) > 1 else None
      if common is not None:
        grid, values = common
        axes.fill_between(grid, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2)
        axes.plot(grid, values.mean(axis=0), color=color, linewidth=1.5, label=label)
      else:  # one seed, or seeds without a common x range
        for i, (x, y) in enumerate(curves):
          axes.plot(x, y, color=color, linewidth=1.0, label=None if i else label)
    axes.legend(fontsize='x-small')
  return figure



def plot_sweep(sweep_dir: str, out_dir: str) -> None:
  combinations = load_sweep(sweep_dir)
  rows = sweep_table(combinations)
  os.makedirs(out_dir, exist_ok=True)
  markdown = sweep_markdown(rows)
  print(markdown, end='')
  missing = [name for c in combinations for name in c.missing]
  if missing:
    print(f'not in the table or plot yet (no summaries): {", ".join(missing)}')
  paths = [os.path.join(out_dir, name) for name in ('sweep_returns.png', 'sweep.md', 'sweep.csv')]
  build_sweep_figure(sweep_dir, rows).savefig(paths[0], dpi=100)
  with open(paths[1], 'w') as f:
    f.write(markdown)
  write_sweep_csv(rows, paths[2])
  print('\n'.join(paths))


def main(argv):
  exp_dirs = argv[1:]
  if not exp_dirs:
    raise app.UsageError('give at least one experiment dir, e.g. logs/<exp>')
  if FLAGS.sweep and len(exp_dirs) != 1:
    raise app.UsageError("with --sweep, give one sweep's dir, e.g. logs/<exp>")
  # tensorboard logs each event file it reads at INFO: noise around the paths printed.
  logging.getLogger('tensorboard').setLevel(logging.WARNING)
  out_dir = FLAGS.out or os.path.join(exp_dirs[0], 'plots')
  try:
    if FLAGS.sweep:
      plot_sweep(exp_dirs[0], out_dir)
      return 0
    runs = load_runs(exp_dirs)
  except (NoSummariesError, sweep.SweepError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  os.makedirs(out_dir, exist_ok=True)
  for name, figure in build_figures(runs).items():
    path = os.path.join(out_dir, f'{name}.png')
    figure.savefig(path, dpi=100)
    print(path)
  return 0


if __name__ == '__main__':
  app.run(main)
