"""tfagents_system.tools.plot on summaries written like the trainer's, for two runs overlaid."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfagents_system.common import experiment_dir
from tfagents_system.common import summary_tags
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.tools import plot
from tfagents_system.trainer import training_progress
from training_run import REPO

NUM_ITER = 10
STEPS_PER_ITER = 100
EVAL_ITERATIONS = (0, 5, 9)


def env_steps(seed, iteration):
  """After `iteration` (-1: the initial collection); the runs' x values differ."""
  return 500 + (iteration + 1) * (100 + seed)


def write_summaries(exp_dir, seed):
  """What the trainer writes, through its own TrainingProgress: iteration k ends at train step
  100 (k + 1), with its losses, the workers' reports and the curriculum values they applied."""
  progress = training_progress.TrainingProgress(
      experiment_dir.ExperimentDir(exp_dir), NUM_ITER, log_period_itrs=1,
      train_writer=tf.summary.create_file_writer(os.path.join(exp_dir, 'train')),
      alpha=tf.Variable(0.0), worker_report_timeout_s=600)
  progress.record_initial_collection(
      IterationSummary([WorkerReport(0, -1, env_steps=env_steps(seed, -1))], []))
  for k in range(NUM_ITER):
    report = WorkerReport(0, k, env_steps=100 + seed, collect_episodes=1,
                          collect_return_sum=-50 + 4 * k + seed, collect_length_sum=50,
                          curriculum={'mass': 1.0 + (k >= 5)})
    if k in EVAL_ITERATIONS:
      report.eval_episodes, report.eval_return_sum, report.eval_length_sum = 1, -40 + 4 * k + seed, 50
      report.eval_measure_sums = {'final_distance': 1.0 - k / 10}
    losses = {tag[len(summary_tags.LOSSES_PREFIX):]: i + seed - k / 10
              for i, tag in enumerate(summary_tags.LOSS_TAGS)}
    progress.record_iteration(training_progress.IterationRecord(
        k, IterationSummary([report], []), (k + 1) * STEPS_PER_ITER, losses=losses,
        sgd_steps=STEPS_PER_ITER, wall_seconds=1.0, timing={}))


@pytest.fixture(scope='module')
def exp_dirs(tmp_path_factory):
  dirs = []
  for seed in (0, 1):
    exp_dir = str(tmp_path_factory.mktemp('runs') / f'exp_{seed}')
    write_summaries(exp_dir, seed)
    dirs.append(exp_dir)
  return dirs


def run_plot(*args):
  return subprocess.run([sys.executable, '-m', 'tfagents_system.tools.plot', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=120)


def test_the_tags_are_known_without_tensorflow():
  """plot and status read the trainer's tags without loading TensorFlow (seconds, and noise)."""
  result = subprocess.run(
      [sys.executable, '-c', 'import sys; from tfagents_system.common import summary_tags; '
       'from tfagents_system.trainer import iteration_timing; '
       'print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "reverb")))'],
      cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
  assert result.stdout.strip() == '[]'


def test_command_writes_valid_pngs_and_prints_their_paths(exp_dirs, tmp_path):
  out = tmp_path / 'out'
  result = run_plot(*exp_dirs, '--out', str(out))
  assert result.returncode == 0, result.stderr
  names = ('returns', 'losses', 'throughput', 'curriculum', 'measures')
  expected = [str(out / f'{name}.png') for name in names]
  assert result.stdout.split() == expected
  for path in expected:
    with Image.open(path) as image:
      assert image.format == 'PNG' and image.size[0] > 500 and image.size[1] > 300
      image.verify()


def test_default_output_is_the_first_experiments_plots_dir(exp_dirs):
  result = run_plot(exp_dirs[0])
  assert result.returncode == 0, result.stderr
  assert os.path.isfile(os.path.join(exp_dirs[0], 'plots', 'returns.png'))


def test_dir_without_summaries_is_a_one_line_error(exp_dirs, tmp_path):
  result = run_plot(exp_dirs[0], str(tmp_path))
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f'error: {tmp_path}: no TensorBoard summaries (no event files in train/ or eval/)']


def titles(figure):
  return [axes.get_title() for axes in figure.axes]


def test_figures_have_the_expected_panels(exp_dirs):
  figures = plot.build_figures(plot.load_runs(exp_dirs))
  assert titles(figures['returns']) == [
      'Eval return vs env steps', 'Collect return vs env steps',
      'Eval return vs wall time', 'Collect return vs wall time']
  assert titles(figures['losses']) == list(summary_tags.LOSS_TAGS) + [summary_tags.ALPHA]
  assert titles(figures['throughput']) == ['Env steps per second', 'SGD steps per second']
  assert titles(figures['curriculum']) == [summary_tags.CURRICULUM_PREFIX + 'mass']
  assert figures['returns'].axes[2].get_xlabel() == 'wall time (min)'
  assert titles(figures['measures']) == ['Eval final_distance vs env steps',
                                         'Eval final_distance vs wall time']
  for name in ('losses', 'throughput', 'curriculum'):
    assert {axes.get_xlabel() for axes in figures[name].axes} == {'iteration'}


def test_each_run_is_a_line_with_their_mean_and_band(exp_dirs):
  figure = plot.build_figures(plot.load_runs(exp_dirs))['returns']
  eval_axes = figure.axes[0]
  labels = [line.get_label() for line in eval_axes.get_lines()]
  assert labels == ['exp_0', 'exp_1', 'mean of 2']
  assert len(eval_axes.collections) == 1  # the min-max band
  for seed, line in enumerate(eval_axes.get_lines()[:2]):
    # Eval returns against the env steps logged at the same train step.
    np.testing.assert_allclose(line.get_xdata(), [env_steps(seed, k) for k in EVAL_ITERATIONS])
    np.testing.assert_allclose(line.get_ydata(), [-40 + 4 * k + seed for k in EVAL_ITERATIONS])
  runs, mean = eval_axes.get_lines()[:2], eval_axes.get_lines()[2]
  # Over the env steps both runs cover, the mean of each run interpolated there.
  grid = mean.get_xdata()
  assert grid[0] == env_steps(1, 0) and grid[-1] == env_steps(0, NUM_ITER - 1)
  np.testing.assert_allclose(
      mean.get_ydata(),
      np.mean([np.interp(grid, r.get_xdata(), r.get_ydata()) for r in runs], axis=0))
  # Wall time counts from the run's first event.
  assert all(x >= 0 for x in figure.axes[2].get_lines()[0].get_xdata())


def test_losses_and_curriculum_are_on_the_iteration_axis(exp_dirs):
  figures = plot.build_figures(plot.load_runs(exp_dirs[:1]))
  critic = figures['losses'].axes[0].get_lines()
  assert len(critic) == 1  # one run: no mean, no band
  # Losses are logged with the iteration they end: step 100 ends iteration 0.
  np.testing.assert_allclose(critic[0].get_xdata(), np.arange(NUM_ITER))
  mass = figures['curriculum'].axes[0].get_lines()[0]
  np.testing.assert_allclose(mass.get_xdata(), np.arange(NUM_ITER))
  np.testing.assert_allclose(mass.get_ydata(), [1] * 5 + [2] * 5)


def test_the_eval_episodes_measures_are_drawn_against_env_steps(exp_dirs):
  figure = plot.build_figures(plot.load_runs(exp_dirs[:1]))['measures']
  (line,) = figure.axes[0].get_lines()
  np.testing.assert_allclose(line.get_xdata(), [env_steps(0, k) for k in EVAL_ITERATIONS])
  np.testing.assert_allclose(line.get_ydata(), [1.0 - k / 10 for k in EVAL_ITERATIONS])
