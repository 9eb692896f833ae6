"""Hyperparameter sweeps: the sweep file's checks, the task list and its names, the overrides
checked against TrainParams and applied by params_loading, the settings of a sweep task, the
sbatch line and --dry-run of slurm/submit.sh, `plot --sweep` and `status` on summaries written
like the trainer's, and a real task run by scripts/sweep_local.sh (SLURM: tests/test_slurm.py)."""
import csv
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from tfagents_system.common import params_loading
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import run_stop
from tfagents_system.launcher import slurm_job
from tfagents_system.launcher import sweep
from tfagents_system.launcher import sweep_local
from tfagents_system.launcher.run_settings import RunSettings
from test_plot import NUM_ITER
from test_plot import env_steps
from test_plot import write_summaries
from training_run import REPO
from training_run import TrainingRun

PARAMS = 'tfagents_system/point_mass_params.py'
CONFIG = 'config/point_mass.json'
VARIABLES = {'SAC_NUM_COLLECT_WORKERS': '2', 'SAC_REVERB_CPUS': '1', 'SAC_TRAIN_CPUS': '1',
             'SAC_COLLECT_WORKER_CPUS': '1', 'SAC_EXP_NAME': 'exp', 'SAC_PARAMS': PARAMS,
             'SAC_CONFIG': CONFIG}


def write_json(path, data):
  path.write_text(json.dumps(data))
  return str(path)


@pytest.mark.parametrize('text,error', [
    ('{"a": [1,]}', 'invalid JSON at line 1 column 10'),
    ('[1, 2]', 'the top level must be a JSON object'),
    ('{"train_batch_size": 128}', 'train_batch_size: give a list of values, e.g. [128], got 128'),
    ('{"train_batch_size": []}', 'train_batch_size: the list of values is empty'),
    ('{"train_batch_size": [64, 64]}', 'train_batch_size: a value is listed twice in [64, 64]'),
    ('{"seeds": 0}', '"seeds" must be a count >= 1 or a list of distinct whole numbers >= 0, '
                     'got 0'),
    ('{"seeds": [1, 1]}', 'got [1, 1]'),
    ('{"seeds": [-1]}', 'got [-1]'),
    ('{"seeds": true}', 'got true'),
    ('{"discount": [0.9, 0.95], "seeds": 501}', '1002 tasks (combinations x seeds); at most 1000'),
])
def test_a_bad_sweep_file_is_one_line_naming_the_problem(tmp_path, text, error):
  path = tmp_path / 'sweep.json'
  path.write_text(text)
  with pytest.raises(sweep.SweepError) as raised:
    sweep.read_sweep_file(str(path))
  assert str(raised.value).startswith(f'{path}: ') and error in str(raised.value)
  with pytest.raises(sweep.SweepError, match='cannot read the sweep file .*nowhere.json'):
    sweep.read_sweep_file(str(tmp_path / 'nowhere.json'))


def test_tasks_are_the_grid_times_the_seeds_with_readable_dir_names():
  grid = sweep.parse_sweep({'actor_learning_rate': [1e-4, 3e-4], 'train_batch_size': [128],
                            'seeds': 2}, 's.json')
  tasks = grid.tasks()
  assert [(t.index, t.name, t.seed) for t in tasks] == [
      (0, 'actor_learning_rate=0.0001_s0', 0), (1, 'actor_learning_rate=0.0001_s1', 1),
      (2, 'actor_learning_rate=0.0003_s0', 0), (3, 'actor_learning_rate=0.0003_s1', 1)]
  # The value every task shares is set on each, but does not lengthen the names.
  assert tasks[3].overrides == {'actor_learning_rate': 3e-4, 'train_batch_size': 128}
  assert sweep.parse_sweep({'seeds': [7, 3]}, 's.json').tasks() == [
      sweep.Task(0, 'default', {}, 7), sweep.Task(1, 'default', {}, 3)]
  # Layer sizes and None as a dir name shows them; long names abbreviate the attributes.
  names = sweep.combination_names(
      {'actor_fc_layer_params': [[64, 64], [256]], 'gradient_clipping': [None, 0.5]},
      [{'actor_fc_layer_params': [64, 64], 'gradient_clipping': None}])
  assert names == ['actor_fc_layer_params=64x64,gradient_clipping=None']
  long = {'critic_joint_fc_layer_params': [[8], [16]], 'actor_fc_layer_params': [[8], [16]],
          'n_buffer_init_episodes': [10, 20], 'target_update_period': [1, 2]}
  assert sweep.parse_sweep(long, 's.json').tasks()[0].combination == 'cjflp=8,aflp=8,nbie=10,tup=1'
  assert all(re.fullmatch(r'[\w.,=+-]+', t.name)
             for t in sweep.parse_sweep(long, 's.json').tasks())


def test_task_lists_take_slurms_array_syntax():
  assert sweep.parse_task_list('3', 8) == [3]
  assert sweep.parse_task_list('0-2,5%2', 8) == [0, 1, 2, 5]
  assert sweep.array_syntax([0, 1, 2, 5, 7, 8]) == '0-2,5,7-8'
  for text, error in (('8', 'the sweep has tasks 0-7, not 8'), ('3-1', 'the range 3-1 is empty'),
                      ('a', "got 'a'")):
    with pytest.raises(sweep.SweepError, match=re.escape(error)):
      sweep.parse_task_list(text, 8)


def plan(tmp_path, data, params=PARAMS):
  return sweep.plan(write_json(tmp_path / 'sweep.json', data), params, CONFIG,
                    str(tmp_path / 'logs' / 'exp'))


@pytest.mark.parametrize('data,error', [
    ({'actor_lr': [1e-4]}, "TrainParams has no hyperparameter 'actor_lr' (did you mean "
                           'actor_learning_rate?)'),
    ({'env_config': [{}]}, "TrainParams has no hyperparameter 'env_config'"),
    ({'train_batch_size': [64, 64.5]}, 'train_batch_size must be a whole number (its default '
                                       'is 128), got 64.5'),
    ({'recurrent': [0]}, 'recurrent must be true or false (its default is False), got 0'),
    ({'discount': ['0.9']}, 'discount must be a number (its default is 0.95), got "0.9"'),
    ({'discount': [None]}, 'discount must be a number (its default is 0.95), got null'),
    ({'actor_fc_layer_params': [64]}, 'actor_fc_layer_params must be a list (its default is '
                                      '(64, 64)), got 64'),
    ({'actor_fc_layer_params': [[64, True]]}, 'actor_fc_layer_params[1] must be a whole number'),
    # Types fit, but a combination breaks the hyperparameter checks.
    ({'train_batch_size': [64, 100000]}, 'combination train_batch_size=100000: '
                                         'TrainParams.train_batch_size (100000) is larger than'),
    ({'gradient_clipping': [1, -1]}, 'combination gradient_clipping=-1: '
                                     'TrainParams.gradient_clipping must be None or a finite'),
])
def test_overrides_are_checked_against_train_params(tmp_path, data, error):
  with pytest.raises(sweep.SweepError) as raised:
    plan(tmp_path, data)
  assert str(raised.value).startswith(f'{tmp_path}/sweep.json: ') and error in str(raised.value)
  assert not os.path.exists(tmp_path / 'logs')


def test_values_become_what_the_attributes_take(tmp_path):
  checked = plan(tmp_path, {'actor_learning_rate': [1], 'actor_fc_layer_params': [[32, 32]],
                            'gradient_clipping': [None, 0.5], 'seeds': [4]})
  tasks = checked.tasks()
  assert tasks[1].overrides == {'actor_learning_rate': 1.0, 'actor_fc_layer_params': (32, 32),
                                'gradient_clipping': 0.5}
  assert type(tasks[1].overrides['actor_learning_rate']) is float
  assert [t.name for t in tasks] == ['gradient_clipping=None_s4', 'gradient_clipping=0.5_s4']
  # params_loading applies them, as every program of the task does, after __init__.
  params = params_loading.load_train_params(PARAMS, CONFIG, tasks[1].overrides)
  assert params.actor_fc_layer_params == (32, 32) and params.gradient_clipping == 0.5
  assert params.actor_learning_rate == 1.0 and params.num_iter == 60  # the rest as __init__ set


def test_benchmark_configs_set_params_through_the_same_code(tmp_path):
  config = write_json(tmp_path / 'c.json', {'params': {'eval_period_itrs': 2,
                                                       'actor_fc_layer_params': [16]}})
  params = params_loading.load_train_params('bench/point_mass_bench_params.py', config)
  assert params.eval_period_itrs == 2 and params.actor_fc_layer_params == (16,)
  config = write_json(tmp_path / 'c.json', {'params': {'eval_period_itrs': 2.5}})
  with pytest.raises(params_loading.ParamsError, match=re.escape(
      'bench params: eval_period_itrs must be a whole number (its default is 10), got 2.5')):
    params_loading.load_train_params('bench/point_mass_bench_params.py', config)


def test_a_sweep_task_finds_its_dir_seed_and_overrides_in_the_manifest(tmp_path):
  checked = plan(tmp_path, {'train_batch_size': [64, 128], 'seeds': [5, 6]})
  checked.write_manifest()
  manifest = checked.manifest_file
  assert manifest == str(tmp_path / 'logs' / 'exp' / 'sweep.json')
  settings = RunSettings.from_environ(dict(VARIABLES, SAC_SWEEP=manifest, SLURM_ARRAY_TASK_ID='3'))
  assert settings.exp_dir == str(tmp_path / 'logs' / 'exp' / 'train_batch_size=128_s6')
  assert settings.run_seed == 6 and settings.overrides == {'train_batch_size': 128}
  # Run here, by scripts/sweep_local.sh: SAC_SWEEP_TASK.
  settings = RunSettings.from_environ(dict(VARIABLES, SAC_SWEEP=manifest, SAC_SWEEP_TASK='1',
                                           SLURM_ARRAY_TASK_ID='3'))
  assert settings.exp_dir.endswith('/train_batch_size=64_s6') and settings.run_seed == 6
  with pytest.raises(sweep.SweepError, match=r'has tasks 0-3, not 4'):
    RunSettings.from_environ(dict(VARIABLES, SAC_SWEEP=manifest, SAC_SWEEP_TASK='4'))
  with pytest.raises(sweep.SweepError, match=r'needs its number in SLURM_ARRAY_TASK_ID'):
    RunSettings.from_environ(dict(VARIABLES, SAC_SWEEP=manifest))
  # A plain array task and a plain run, as before.
  settings = RunSettings.from_environ(dict(VARIABLES, SLURM_ARRAY_TASK_ID='2'))
  assert settings.exp_dir == os.path.join(REPO, 'logs', 'exp_2') and settings.run_seed == 2
  assert settings.overrides == {}
  assert RunSettings.from_environ(VARIABLES).exp_dir == os.path.join(REPO, 'logs', 'exp')
  # Submitting again finishes the same sweep: the tasks not done yet, unless --tasks says which.
  done = sweep.task_dir(manifest, checked.tasks()[1])
  os.makedirs(done)
  ExperimentDir(done).write_status({'done': True})
  again = plan(tmp_path, {'train_batch_size': [64, 128], 'seeds': [5, 6]})
  assert (again.done, again.selected, again.array) == ([1], [0, 2, 3], '0,2-3')
  assert 'tasks (2 combinations x 2 seeds), 6 CPUs each; 1 done already; running 3 of them' in \
      again.describe(6)
  # Another sweep in that dir is refused.
  with pytest.raises(sweep.SweepError, match='holds another sweep'):
    plan(tmp_path, {'train_batch_size': [64, 256], 'seeds': [5, 6]})


def test_sbatch_command_of_a_sweep_is_an_array_of_its_tasks(tmp_path):
  checked = sweep.plan(write_json(tmp_path / 's.json', {'discount': [0.9, 0.99], 'seeds': 2}),
                       PARAMS, CONFIG, str(tmp_path / 'exp'), '1,3')
  settings = RunSettings.from_environ(VARIABLES)
  command = slurm_job.sbatch_command(settings, 'vars.sh', ['--time=1:00:00'], checked)
  assert command == [
      'sbatch', '--job-name=exp', f'--chdir={REPO}', f'--output={tmp_path}/exp/slurm-%A_%a.out',
      '--nodes=1', '--ntasks-per-node=1', '--cpus-per-task=6', '--array=1,3', '--time=1:00:00',
      f'{REPO}/slurm/train.sbatch', os.path.abspath('vars.sh'), f'{tmp_path}/exp/sweep.json']


def submit(tmp_path, *args, name='sweep_dry_run_never_created'):
  variables = tmp_path / 'vars.sh'
  variables.write_text(''.join(f'{k}={v}\n' for k, v in dict(VARIABLES, SAC_EXP_NAME=name).items()))
  return subprocess.run([os.path.join(REPO, 'slurm', 'submit.sh'), *args, str(variables)],
                        cwd=REPO, capture_output=True, text=True, timeout=120)


def test_submit_dry_run_prints_the_tasks_and_sbatch_line_and_bad_input_one_error(tmp_path):
  sweep_file = write_json(tmp_path / 's.json', {'discount': [0.9, 0.99], 'train_batch_size': [64],
                                                'seeds': 2})
  result = submit(tmp_path, '--sweep', sweep_file, '--dry-run')
  assert result.returncode == 0, result.stderr
  sweep_dir = os.path.join(REPO, 'logs', 'sweep_dry_run_never_created')
  lines = result.stdout.splitlines()
  assert lines[0] == f'sweep {sweep_dir}: 4 tasks (2 combinations x 2 seeds), 6 CPUs each'
  assert lines[1] == 'every task: train_batch_size=64'
  assert [line.split() for line in lines[3:7]] == [
      ['0', 'discount=0.9_s0', '0'], ['1', 'discount=0.9_s1', '1'],
      ['2', 'discount=0.99_s0', '0'], ['3', 'discount=0.99_s1', '1']]
  assert re.fullmatch(r'sbatch --job-name=sweep_dry_run_never_created .* --cpus-per-task=6 '
                      rf'--array=0-3 \S+/slurm/train.sbatch \S+/vars.sh {sweep_dir}/sweep.json',
                      lines[7]), lines[7]
  assert result.stderr == '' and not os.path.exists(sweep_dir)

  result = submit(tmp_path, '--sweep', write_json(tmp_path / 'bad.json', {'discount': [True]}))
  assert result.returncode == 2 and result.stdout == ''
  assert result.stderr.splitlines() == [
      f'error: {tmp_path}/bad.json: discount must be a number (its default is 0.95), got true']
  assert not os.path.exists(sweep_dir)


# `plot --sweep` and `status` on a sweep whose runs hold summaries written like the trainer's.
SYNTHETIC = {'discount': [0.9, 0.99], 'seeds': 2}
# write_summaries(dir, offset) makes eval returns -40 + 4 k + offset at iterations 0, 5, 9.
OFFSETS = {('discount=0.9', 0): 0, ('discount=0.9', 1): 1, ('discount=0.99', 0): 2,
           ('discount=0.99', 1): 4}


@pytest.fixture(scope='module')
def synthetic_sweep(tmp_path_factory):
  root = tmp_path_factory.mktemp('sweep')
  checked = sweep.plan(write_json(root / 's.json', SYNTHETIC), PARAMS, CONFIG, str(root / 'exp'))
  checked.write_manifest()
  for task in checked.tasks()[:3]:  # the last task has not started
    write_summaries(sweep.task_dir(checked.manifest_file, task),
                    OFFSETS[task.combination, task.seed])
  return checked


def test_plot_sweep_groups_runs_by_combination_best_first(synthetic_sweep, tmp_path):
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.tools.plot', '--sweep',
                           synthetic_sweep.sweep_dir, '--out', str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  paths = [str(tmp_path / name) for name in ('sweep_returns.png', 'sweep.md', 'sweep.csv')]
  assert result.stdout.splitlines()[-3:] == paths
  with Image.open(paths[0]) as image:
    assert image.format == 'PNG' and image.size[0] > 800
    image.verify()
  # Final eval return -4 + offset: discount=0.99 has only seed 0 (-2), discount=0.9 has -4, -3.
  steps_09 = np.mean([env_steps(0, NUM_ITER - 1), env_steps(1, NUM_ITER - 1)])
  markdown = (tmp_path / 'sweep.md').read_text().splitlines()
  assert markdown[2] == (f'| 1 | discount=0.99 | 1 | -2.00 ± 0.00 | -2.00 ± 0.00 '
                         f'| {env_steps(2, NUM_ITER - 1):,} | 0.0 |')
  assert markdown[3] == (f'| 2 | discount=0.9 | 2 | -3.50 ± 0.71 | -3.50 ± 0.71 '
                         f'| {steps_09:,.0f} | 0.0 |')
  assert markdown[2] in result.stdout.splitlines()
  assert 'not in the table or plot yet (no summaries): discount=0.99_s1' in result.stdout
  with open(paths[2]) as f:
    rows = list(csv.DictReader(f))
  assert [(r['rank'], r['combination'], r['discount'], r['seeds']) for r in rows] == [
      ('1', 'discount=0.99', '0.99', '1'), ('2', 'discount=0.9', '0.9', '2')]
  assert float(rows[1]['final_eval_return_std']) == pytest.approx(np.std([-4, -3], ddof=1))

  figure = plot_module().build_sweep_figure(
      synthetic_sweep.sweep_dir, plot_module().sweep_table(
          plot_module().load_sweep(synthetic_sweep.sweep_dir)))
  eval_axes = figure.axes[0]
  assert [line.get_label() for line in eval_axes.get_lines()] == [
      'discount=0.99 (1 seed)', 'discount=0.9 (2 seeds)']
  assert len(eval_axes.collections) == 1  # the band of the combination with two seeds
  mean = eval_axes.get_lines()[1]  # where both seeds have data: -4 and a little under -3
  assert -4 < mean.get_ydata()[-1] < -3.5


def plot_module():
  from tfagents_system.tools import plot  # pylint: disable=g-import-not-at-top
  return plot


def test_status_lists_a_sweeps_tasks_and_a_runs_overrides(synthetic_sweep):
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.tools.status',
                           synthetic_sweep.sweep_dir], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0] == f'sweep {synthetic_sweep.sweep_dir}: 4 tasks'
  assert lines[1].split() == ['task', 'state', 'iteration', 'eval', 'return', 'experiment', 'dir']
  assert lines[2].split() == ['0', 'stopped', f'{NUM_ITER}/{NUM_ITER}', '-4.00', 'discount=0.9_s0']
  assert lines[5].split() == ['3', 'not', 'started', '-', '-', 'discount=0.99_s1']

  task_dir = sweep.task_dir(synthetic_sweep.manifest_file, synthetic_sweep.tasks()[2])
  ExperimentDir(task_dir).write_params_overrides({'discount': 0.99, 'lstm_size': [8]})
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.tools.status', task_dir], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines()[1] == 'TrainParams overrides: discount=0.99, lstm_size=[8]'


def test_local_tasks_run_at_once_on_cpus_of_their_own_when_there_are_enough():
  assert sweep_local.cpu_slots(list(range(12)), 5) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
  assert sweep_local.cpu_slots([0, 1, 4, 5], 2) == [[0, 1], [4, 5]]
  assert sweep_local.cpu_slots([0, 1], 5) == [[0, 1]]  # one at a time, sharing what there is
  assert sweep_local.cpu_slots([0, 1, 2, 3, 4, 5], 5) == [[0, 1, 2, 3, 4, 5]]


def test_local_sweep_runs_its_tasks_through_run_script(tmp_path):
  """A 1 x 1 x 2 sweep: --dry-run shows both tasks; then task 1 alone runs for real."""
  run = TrainingRun(tmp_path, {'num_iter': 2, 'num_steps_per_iter': 20, 'eval_period_itrs': 1,
                               'n_eval_episodes': 1}, workers=1)
  sweep_file = write_json(tmp_path / 'sweep.json', {'train_batch_size': [32], 'seeds': 2})
  command = [os.path.join(REPO, 'scripts', 'sweep_local.sh'), '--sweep', sweep_file]
  try:
    result = subprocess.run(command + ['--dry-run', str(run.variables_file)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '2 tasks (1 combination x 2 seeds)' in result.stdout
    assert re.search(r'^1 +train_batch_size=32_s1 +1$', result.stdout, re.M), result.stdout
    assert not os.path.exists(run.exp_dir)

    result = subprocess.run(command + ['--tasks', '1', str(run.variables_file)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    task_dir = os.path.join(run.exp_dir, 'train_batch_size=32_s1')
    output = os.path.join(run.exp_dir, 'train_batch_size=32_s1.out')
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r'^task 1 train_batch_size=32_s1: started on CPUs \S+; output in '
                     + re.escape(output), result.stdout, re.M), result.stdout
    assert re.search(r'^task 1 train_batch_size=32_s1: completed \| iteration 2/2 \| env steps '
                     r'[\d,]+ \| eval return', result.stdout, re.M), result.stdout
    assert f'1 of 1 tasks completed; plot: python -m tfagents_system.tools.plot --sweep {run.exp_dir}' \
        in result.stdout
    # The sweep again: what is left of it.
    result = subprocess.run(command + ['--dry-run', str(run.variables_file)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '5 CPUs each; 1 done already; running 1 of them' in result.stdout
    assert re.search(r'^0 +train_batch_size=32_s0 +0$', result.stdout, re.M), result.stdout
    assert 'train_batch_size=32_s1 ' not in result.stdout
    with open(output) as f:
      assert 'Training complete.' in f.read()
    assert sorted(os.listdir(run.exp_dir)) == sorted(
        ['sweep.json', 'train_batch_size=32_s1', 'train_batch_size=32_s1.out'])
    assert ExperimentDir(task_dir).read_params_overrides() == {'train_batch_size': 32}
    assert (ExperimentDir(task_dir).read_status() or {}).get('done')
    with open(os.path.join(task_dir, 'logs', 'sac_collect_0', 'current')) as f:
      assert 'collect env seed 1000,' in f.read()  # run seed 1
    assert run_stop.processes_of_run(task_dir) == []
  finally:
    kill_leftovers(task_dir)
    run.stop()


def kill_leftovers(exp_dir):
  """What a failed test left running in a task's dir, killed by PID."""
  for pid in run_stop.processes_of_run(exp_dir):
    try:
      os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
