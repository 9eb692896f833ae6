"""Robustness maps, `run.py --sweep`: the grid, then real sweeps as a user runs them, on policy
checkpoints written by the trainer's own code (a real SAC agent of the point-mass params), in a
Python where Reverb cannot be imported."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import tensorflow as tf

from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.tools import robustness
from tfagents_system.tools import robustness_grid
from tfagents_system.tools.policy_evaluation import load_greedy_policy
from tfagents_system.trainer import sgd_steps
from tfagents_system.trainer.trainer_checkpoints import TrainerCheckpoints
from training_run import REPO

PARAMS = 'tfagents_system/point_mass_params.py'
CONFIG = 'config/point_mass.json'
# Iterations 0 and 40 of the point-mass params (100 SGD steps per iteration).
FIRST, LAST = 'policy_checkpoint_0000000100', 'policy_checkpoint_0000004100'


# --- The grid: pure Python.

@pytest.mark.parametrize('text, values', [
    ('mass=0.5:2.0:7', (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)),
    ('friction=0.1:0.5:5', (0.1, 0.2, 0.3, 0.4, 0.5)),
    ('mass=1.3,0.8,1.0', (0.8, 1.0, 1.3)),
    ('mass=1.5', (1.5,)),
])
def test_a_range_or_a_list_gives_the_values_of_an_axis(text, values):
  axis = robustness_grid.parse_axis(text)
  assert axis.name == text.split('=')[0] and axis.values == values


@pytest.mark.parametrize('sweeps, error', [
    (['mass'], '--sweep mass: expected NAME=LOW:HIGH:STEPS or NAME=V1,V2,...'),
    (['mass=0.5:2.0'], '--sweep mass=0.5:2.0: a range is LOW:HIGH:STEPS'),
    (['mass=0.5:2.0:0'], '--sweep mass=0.5:2.0:0: STEPS must be at least 2, got 0'),
    (['mass=0.5:2.0:x'], "STEPS must be a whole number, got 'x'"),
    (['mass=2:0.5:3'], 'LOW must be below HIGH'),
    (['mass=heavy:2:3'], "'heavy' is not a number"),
    (['mass=1,inf'], "'inf' is not a finite number"),
    (['mass=1,2,1'], '1 is given twice'),
    (['mass=1', 'mass=2'], '--sweep mass is given twice'),
    (['mass=1', 'friction=1', 'size=1'], '--sweep takes one or two parameters, got 3 '
                                         '(mass, friction, size)'),
    (['mass=0:1:101', 'friction=0:1:100'], 'the grid has 10,100 cells (101 mass x 100 friction); '
                                           'at most 10,000'),
])
def test_bad_grids_are_refused_in_one_line(sweeps, error):
  with pytest.raises(robustness_grid.SweepError) as raised:
    robustness_grid.parse_grid(sweeps)
  assert error in str(raised.value) and '\n' not in str(raised.value)


def test_the_largest_grid_allowed_has_10000_cells():
  axes = robustness_grid.parse_grid(['mass=0.1:2:100', 'friction=0:1:100'])
  assert len(robustness_grid.grid_cells(axes)) == 10_000


def test_every_episode_of_a_sweep_gets_its_own_seed_and_other_seeds_other_ones():
  def sweep_seeds(seed):
    return [s for cell in range(35) for s in robustness_grid.episode_seeds(seed, 35, cell, 10)]
  assert len(set(sweep_seeds(0))) == 350
  assert not set(sweep_seeds(0)) & set(sweep_seeds(1))


# --- Real sweeps.

@pytest.fixture(scope='module')
def experiment(tmp_path_factory):
  """An experiment dir with two policy checkpoints of different policies, written as the
  trainer writes them (TrainerCheckpoints: policies/checkpoints/policy_checkpoint_<train step>,
  and the policy SavedModels before the trainer exits)."""
  root = str(tmp_path_factory.mktemp('robustness_exp'))
  params = params_loading.load_train_params(PARAMS, CONFIG)
  agent, train_step = program_setup.create_agent(params, *program_setup.environment_specs(params))
  sac_learner = sgd_steps.make_learner(root, train_step, agent)
  checkpoints = TrainerCheckpoints(ExperimentDir(root), sac_learner, agent, lambda: 'no replay')
  for step, seed in ((100, 1), (4100, 2)):
    train_step.assign(step)
    for index, variable in enumerate(agent.policy.variables()):
      variable.assign(tf.random.stateless_normal(variable.shape, [seed, index], stddev=0.5))
    checkpoints.save()
  checkpoints.finish_policy_export()
  return root


@pytest.fixture(scope='module')
def without_reverb(tmp_path_factory):
  """PYTHONPATH in which `import reverb` fails, as on a machine without it (workers too)."""
  path = tmp_path_factory.mktemp('no_reverb')
  (path / 'reverb').mkdir()
  (path / 'reverb' / '__init__.py').write_text("raise ImportError('no reverb on this machine')\n")
  return dict(os.environ, PYTHONPATH=os.pathsep.join([str(path), os.environ.get('PYTHONPATH', '')]))


def run_py_argv(experiment, *args):
  return [sys.executable, 'tfagents_system/run.py', '--params', PARAMS, '--exp_dir', experiment,
          '--config', CONFIG, *args]


def run_py(experiment, environment, *args):
  result = subprocess.run(run_py_argv(experiment, *args), cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=environment)
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  return result


def read_outputs(experiment, checkpoint, stem):
  base = os.path.join(experiment, 'robustness', checkpoint, stem)
  with open(base + '.json') as f:
    report = json.load(f)
  with open(base + '.csv') as f:
    rows = list(csv.DictReader(f))
  with open(base + '.png', 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  return report, rows


def outputs(experiment):
  """Every file under <exp>/robustness and when it was last written."""
  return {os.path.join(d, n): os.stat(os.path.join(d, n)).st_mtime_ns
          for d, _, names in os.walk(os.path.join(experiment, 'robustness')) for n in names}


def expected_trained_range(name, iteration):
  """From the config as the README states the curriculum: linspace over iters, due at iters."""
  with open(os.path.join(REPO, CONFIG)) as f:
    entry = json.load(f)['curriculum'][name]
  given = [v for i, v in zip(entry['iters'], np.linspace(*entry['range'], len(entry['iters'])))
           if i <= iteration]
  return [min(given), max(given)] if given else None


def user_loop_episode(experiment, checkpoint, seed, values):
  """One episode as a user's own code would run it: its return and where the puck ended."""
  policy = load_greedy_policy(ExperimentDir(experiment))
  policy.update_from_checkpoint(os.path.join(experiment, 'policies', 'checkpoints', checkpoint))
  env = PointMassEnv(seed=seed, episode_length=50)
  for name, value in values.items():
    env.set_state({name: value})
  time_step, total = env.reset(), 0.0
  while not time_step.is_last():
    time_step = env.step(policy.action(time_step).action)
    total += float(time_step.reward)
  return total, float(np.linalg.norm(time_step.observation[:2]))


def test_two_parameter_map_with_its_stats_trained_range_and_seeds_reproducible(
    experiment, without_reverb):
  sweep = ['--checkpoint', 'latest', '--sweep', 'mass=0.5:2.0:3', '--sweep', 'friction=0.1,0.3',
           '--num_episodes', '3', '--seed', '4']
  first = run_py(experiment, without_reverb, *sweep, '--jobs', '1')
  assert first.returncode == 0, first.stderr[-3000:]
  assert first.stderr == ''  # no TensorFlow, absl or gym chatter, from the workers neither
  report, rows = read_outputs(experiment, LAST, 'mass_friction')
  assert report['checkpoint'] == LAST and report['train_step'] == 4100
  assert report['iteration'] == 40
  assert [(p['name'], p['values'], p['trained_range']) for p in report['parameters']] == [
      ('mass', [0.5, 1.25, 2.0], pytest.approx(expected_trained_range('mass', 40))),
      ('friction', [0.1, 0.3], pytest.approx(expected_trained_range('friction', 40)))]
  cells = report['cells']
  assert [c['values'] for c in cells] == [{'mass': m, 'friction': f}
                                          for m in (0.5, 1.25, 2.0) for f in (0.1, 0.3)]
  for cell, row in zip(cells, rows):
    returns = np.array(cell['returns'])
    assert cell['lengths'] == [50, 50, 50]
    assert cell['mean_return'] == pytest.approx(returns.mean())
    assert cell['std_return'] == pytest.approx(returns.std())
    assert (cell['min_return'], cell['max_return']) == (returns.min(), returns.max())
    assert float(row['mass']) == cell['values']['mass']
    assert float(row['mean_return']) == pytest.approx(cell['mean_return'])
    assert row['mean_length'] == '50.0' and row['max_length'] == '50'
    # The env's episode measure, per episode and its mean per cell.
    distances = [m['final_distance'] for m in cell['measures']]
    assert cell['mean_final_distance'] == pytest.approx(np.mean(distances))
    assert float(row['mean_final_distance']) == pytest.approx(cell['mean_final_distance'])
  seeds = [s for c in cells for s in c['episode_seeds']]
  assert len(set(seeds)) == 18
  # A cell's episode is the episode a user's own loop gets with that seed and those values.
  assert (cells[3]['returns'][1], cells[3]['measures'][1]['final_distance']) == pytest.approx(
      user_loop_episode(experiment, LAST, cells[3]['episode_seeds'][1], cells[3]['values']),
      abs=1e-4)
  # The table on the terminal.
  assert 'trained on mass [1, 1.667], friction [0.1, 0.3]' in first.stdout
  assert f"{cells[0]['mean_return']:.2f}" in first.stdout
  assert 'mean length  final_distance' in first.stdout
  assert 'with 1 worker process\n' in first.stdout

  second = run_py(experiment, without_reverb, *sweep, '--jobs', '2')
  assert second.returncode == 0, second.stderr[-3000:]
  assert 'with 2 worker processes\n' in second.stdout
  again, _ = read_outputs(experiment, LAST, 'mass_friction')
  assert again['cells'] == cells


def test_one_parameter_maps_of_two_checkpoints_compared_in_one_figure(experiment, without_reverb):
  result = run_py(experiment, without_reverb, '--checkpoint', f'{FIRST},latest',
                  '--sweep', 'mass=0.8,1.0,1.3', '--num_episodes', '2', '--video', '--jobs', '2')
  assert result.returncode == 0, result.stderr[-3000:]
  first, _ = read_outputs(experiment, FIRST, 'mass')
  last, rows = read_outputs(experiment, LAST, 'mass')
  assert [r['mass'] for r in rows] == ['0.8', '1.0', '1.3']
  assert first['iteration'] == 0 and last['iteration'] == 40
  assert first['parameters'][0]['trained_range'] == expected_trained_range('mass', 0) == [1, 1]
  assert last['parameters'][0]['trained_range'] == pytest.approx(expected_trained_range('mass', 40))
  # Friction, not swept, is at the curriculum's value of each checkpoint's iteration.
  assert first['fixed_curriculum_values'] == {}
  assert last['fixed_curriculum_values'] == {'friction': pytest.approx(0.3)}
  # The same start states for both checkpoints; each its own policy.
  assert [c['episode_seeds'] for c in first['cells']] == [c['episode_seeds'] for c in last['cells']]
  assert [c['returns'] for c in first['cells']] != [c['returns'] for c in last['cells']]
  with open(os.path.join(experiment, 'robustness', 'mass_by_checkpoint.png'), 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  for checkpoint in (FIRST, LAST):  # --video: each cell's first episode
    assert sorted(os.listdir(os.path.join(experiment, 'robustness', checkpoint, 'videos'))) == [
        'mass=0.8.mp4', 'mass=1.3.mp4', 'mass=1.mp4']


@pytest.mark.parametrize('args, error', [
    (['--sweep', 'mas=0.5:2.0:3'], "error: --sweep mas: the environment rejects "
                                   "set_state({'mas': 0.5}): ValueError: PointMassEnv.set_state: "
                                   "unknown key 'mas'"),
    (['--sweep', 'mass=1,2', '--checkpoint', 'policy_checkpoint_0000000200'],
     "error: no policy checkpoint 'policy_checkpoint_0000000200' in "),
])
def test_bad_input_is_refused_in_one_line_before_any_episode(experiment, without_reverb, args,
                                                             error):
  written = outputs(experiment)
  result = run_py(experiment, without_reverb, *args)
  assert result.returncode == 2
  lines = result.stderr.splitlines()
  assert len(lines) == 1 and lines[0].startswith(error), result.stderr
  assert result.stdout == ''  # no progress: no worker started, no episode ran
  assert outputs(experiment) == written


def test_a_hyperparameter_sweep_task_is_mapped_with_its_overrides(experiment, tmp_path):
  """Its checkpoints' iterations, hence the trained-on ranges and the curriculum run.py applies,
  follow its num_steps_per_iter."""
  task = ExperimentDir(str(tmp_path))
  os.symlink(os.path.join(experiment, 'policies'), task.policies_dir)
  task.write_params_overrides({'num_steps_per_iter': 50})
  plan, _ = robustness.plan_sweep(robustness.SweepRequest(
      params=PARAMS, config=CONFIG, exp_dir=task.root, sweeps=['mass=1,2'], checkpoints='all',
      num_episodes=1, seed=0, jobs=None, curriculum_iter=None, video=False, video_fps=30,
      cell_timeout_s=600))
  assert plan.params_overrides == {'num_steps_per_iter': 50}
  assert [(c.iteration, c.trained_ranges) for c in plan.checkpoints] == [
      (1, ((1.0, 1.0),)), (81, (pytest.approx((1.0, 2.0)),))]
  # run.py without --sweep evaluates the checkpoint at the curriculum of that iteration too.
  run_py(task.root, os.environ, '--checkpoint', 'policy_checkpoint_0000004100', '--num_episodes',
         '1')
  with open(os.path.join(task.root, 'videos',
                         'policy_checkpoint_0000004100_iter81_seed0.json')) as f:
    assert json.load(f)['curriculum_iteration'] == 81


def test_a_cell_that_never_finishes_stops_the_sweep_naming_it(experiment, without_reverb):
  written = outputs(experiment)
  result = run_py(experiment, without_reverb, '--params', 'tests/params/stuck_env_params.py',
                  '--sweep', 'mass=1,99', '--num_episodes', '1', '--jobs', '1',
                  '--cell_timeout_s', '3')
  assert result.returncode == 1
  assert result.stdout.splitlines()[-1] == (
      f'error: {LAST}, cell mass=99: not evaluated within 3 s (--cell_timeout_s); its env or '
      'policy may be stuck, or its episodes need a longer timeout'), result.stdout
  assert outputs(experiment) == written
  assert not [p for p in psutil.process_iter(['cmdline'])
              if 'spawn_main' in ' '.join(p.info['cmdline'] or [])]


def descendants(pid):
  return psutil.Process(pid).children(recursive=True)


def as_a_terminal_job():
  """Ctrl-C reaches it even when the tests run in a background job (whose SIGINT the shell
  ignores, and an ignored SIGINT is inherited)."""
  signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_sweep_and_every_process_it_started(experiment, without_reverb):
  written = outputs(experiment)
  process = subprocess.Popen(
      run_py_argv(experiment, '--sweep', 'mass=0.5:2.0:40', '--sweep', 'friction=0.1:0.5:40',
                  '--num_episodes', '5', '--jobs', '2'),
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=without_reverb,
      start_new_session=True, preexec_fn=as_a_terminal_job)  # a process group of its own
  try:
    # Under way: two worker processes, each pinned to a CPU of its own.
    deadline = time.monotonic() + 120
    pinned = {}
    while time.monotonic() < deadline and len(set(pinned.values())) < 2:
      assert process.poll() is None, process.communicate()
      for child in descendants(process.pid):
        try:
          if 'spawn_main' in ' '.join(child.cmdline()) and len(child.cpu_affinity()) == 1:
            pinned[child.pid] = child.cpu_affinity()[0]
        except psutil.NoSuchProcess:
          pass
      time.sleep(0.2)
    assert len(pinned) == 2 and len(set(pinned.values())) == 2, pinned
    started = descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: SIGINT to the whole group
    stdout, stderr = process.communicate(timeout=60)
  finally:
    if process.poll() is None:
      process.kill()
      process.communicate()
  assert process.returncode == 130
  assert 'Traceback' not in stderr and 'KeyboardInterrupt' not in stderr, stderr
  assert 'interrupted: the sweep stopped, its worker processes too; nothing written' in stdout
  gone_by = time.monotonic() + 10
  while time.monotonic() < gone_by and any(
      p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in started):
    time.sleep(0.2)
  assert [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
  assert outputs(experiment) == written
