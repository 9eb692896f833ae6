"""A whole training run through ./run_script.sh: N=2 workers, the real Reverb server,
trainer and daemontools, on the point-mass example with a curriculum."""
import collections
import glob
import json
import os
import re
import time

import numpy as np
import pytest
from tf_agents.policies import py_tf_eager_policy
from tf_agents.policies import random_py_policy

from tfagents_system import workers
from tfagents_system.common import summary_tags
from tfagents_system.envs.point_mass import PointMassEnv
from tfagents_system.launcher.cpu_plan import parse_cpu_list
from training_run import TrainingRun
from training_run import cpus_allowed
from training_run import program_rows
from training_run import read_scalars
from training_run import run_status

NUM_ITER = 60
CONFIG = {
    'episode_length': 50,
    'num_iter': NUM_ITER,
    'curriculum': {
        'mass': {'iters': [0, 15, 30, 45], 'range': [1.0, 2.0]},
        'friction': {'iters': [20, 20, 40], 'range': [0.1, 0.3]},
    },
}


def average_return(policy, episodes=20, seed=1234):
  env = PointMassEnv(seed=seed, episode_length=CONFIG['episode_length'])
  total = 0.0
  for _ in range(episodes):
    time_step = env.reset()
    while not time_step.is_last():
      time_step = env.step(policy.action(time_step).action)
      total += float(time_step.reward)
  return total / episodes


def reference_set_state_calls(config):
  """(iteration, {name: value}) of the set_state calls the reference's pseudo-code makes over
  a whole run."""
  calls = []
  queues = {name: (collections.deque(e['iters']),
                   collections.deque(np.linspace(*e['range'], len(e['iters']))))
            for name, e in config['curriculum'].items()}
  for k in range(config['num_iter']):
    for name, (iters, values) in queues.items():
      while iters and k >= iters[0]:
        iters.popleft()
        calls.append((k, {name: float(values.popleft())}))
  return calls


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  run = TrainingRun(tmp_path_factory.mktemp('e2e'), CONFIG, workers=2).start()
  pinned, pids = {}, {}
  try:
    # While it runs: which CPUs each program is really pinned to.
    while run.process.poll() is None and len(pinned) < 4:
      for program in ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1'):
        pid = run.program_pid(program)
        cpus = cpus_allowed(pid) if pid and program not in pinned else None
        if cpus is not None:
          pinned[program], pids[program] = cpus, pid
      time.sleep(0.2)
    run.wait()
    run.pinned, run.pids = pinned, pids
    yield run
  finally:
    run.stop()


def test_run_completes_and_reports(finished_run):
  run = finished_run
  assert run.process.returncode == 0, run.output
  assert 'Training complete.' in run.output
  assert re.search(r'iteration \d+/60 \| env steps', run.output)
  assert re.search(r'final eval return +-?[\d.]+ \(final_distance [\d.]+\)', run.output)
  assert 'tfagents_system/run.py' in run.output
  status = run.status()
  assert status['done'] and status['iteration'] == NUM_ITER
  assert status['train_step'] == NUM_ITER * 100
  # Init episodes plus one episode per worker per iteration, 50 steps each.
  assert status['env_steps'] == (10 + 2 * NUM_ITER) * 50
  for name in ('params.py', 'config.json', 'training_variables.sh'):
    assert os.path.isfile(os.path.join(run.exp_dir, name))
  for program in ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1'):
    assert os.path.getsize(os.path.join(run.exp_dir, 'logs', program, 'current')) > 0


def test_status_of_the_finished_run(finished_run):
  output = run_status(finished_run.exp_dir)
  assert {row['state'] for row in program_rows(output).values()} == {'stopped'}, output
  assert re.search(r'^iteration 60/60 \| env steps [\d,]+ \| eval return -?[\d.]+ .*'
                   r'\| done: yes', output, re.M), output


def test_nothing_is_left_running(finished_run):
  assert finished_run.leftover_processes() == []


def test_experiment_dir_is_private_to_its_user(finished_run):
  assert os.stat(finished_run.exp_dir).st_mode & 0o777 == 0o700


def test_each_program_ran_pinned_to_its_planned_cpus(finished_run):
  planned = dict(re.findall(r'^(sac_\w+)\s+CPUs (\S+)$', finished_run.output, re.M))
  assert set(planned) == {'sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1'}
  assert finished_run.pinned == {p: set(parse_cpu_list(cpus)) for p, cpus in planned.items()}
  available = len(os.sched_getaffinity(0))
  if available >= 4:
    assert len(set(planned.values())) == 4
  else:
    assert 'programs share CPUs' in finished_run.output
  if available >= 2:  # enough for the trainer to keep its CPU to itself
    trainer = set(parse_cpu_list(planned['sac_train']))
    assert all(not trainer & set(parse_cpu_list(cpus))
               for program, cpus in planned.items() if program != 'sac_train'), planned


def test_policy_learned_far_better_than_random(finished_run):
  spec_env = PointMassEnv()
  random_return = average_return(
      random_py_policy.RandomPyPolicy(spec_env.time_step_spec(), spec_env.action_spec()))
  final_eval = finished_run.status()['eval_return']
  # Returns are negative distances: learning means much closer to zero.
  assert final_eval > 0.5 * random_return, (final_eval, random_return)


def test_saved_greedy_policy_updated_from_latest_checkpoint_acts_well(finished_run):
  policies = os.path.join(finished_run.exp_dir, 'policies')
  checkpoints = sorted(glob.glob(os.path.join(policies, 'checkpoints', 'policy_checkpoint_*')))
  assert os.path.basename(checkpoints[-1]) == 'policy_checkpoint_%010d' % (NUM_ITER * 100)
  policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
      os.path.join(policies, 'greedy_policy'), load_specs_from_pbtxt=True)
  # The SavedModel holds the variables of whenever the trainer exported it; a checkpoint's
  # replace them: an earlier one's, then the latest's.
  first_step = int(checkpoints[0].rsplit('_', 1)[-1])
  assert first_step < NUM_ITER * 100
  policy.update_from_checkpoint(checkpoints[0])
  assert policy.get_train_step() == first_step
  policy.update_from_checkpoint(checkpoints[-1])
  assert policy.get_train_step() == NUM_ITER * 100
  trained_return = average_return(policy)
  spec_env = PointMassEnv()
  random_return = average_return(
      random_py_policy.RandomPyPolicy(spec_env.time_step_spec(), spec_env.action_spec()))
  assert trained_return > 0.5 * random_return, (trained_return, random_return)


def test_every_worker_env_received_exactly_the_curriculum_values_due(finished_run):
  # Only the workers' envs (the launcher's input check gives its own envs the values too).
  worker_pids = {finished_run.pids['sac_collect_0'], finished_run.pids['sac_collect_1']}
  records = [p for p in glob.glob(os.path.join(finished_run.record_dir, '*.jsonl'))
             if int(os.path.basename(p).split('_')[0]) in worker_pids]
  seeds = sorted(int(os.path.basename(p).split('_')[1].split('.')[0]) for p in records)
  # Each of the 2 workers (run seed 0): a collect env and 2 eval envs, all seeds distinct.
  collect_seeds = [workers.env_seeds(0, worker)[0] for worker in (0, 1)]
  eval_seeds = [seed for worker in (0, 1)
                for seed in workers.eval_env_seeds(workers.env_seeds(0, worker)[1], 2)]
  assert collect_seeds == [0, 2] and eval_seeds[::2] == [1, 3]
  assert seeds == sorted(collect_seeds + eval_seeds)
  expected = reference_set_state_calls(finished_run.config)
  # point_mass_params: episodes split across 2 workers; a worker's 2 eval episodes, one per env.
  init_share, eval_share_per_env = 10 // 2, 4 // 2 // 2
  eval_iterations = [k for k in range(NUM_ITER) if k % 10 == 0 or k == NUM_ITER - 1]
  for path in records:
    with open(path) as f:
      calls = [json.loads(line) for line in f]
    episodes_done = [c.pop('episodes_done') for c in calls]
    assert [list(c) for c in calls] == [list(c) for _, c in expected], path
    np.testing.assert_allclose([list(c.values())[0] for c in calls],
                               [list(c.values())[0] for _, c in expected])
    # Each value reached the env at the start of the iteration it is due in: after the
    # episodes of the iterations before (the values due at 0 come before the initial ones).
    is_collect_env = int(os.path.basename(path).split('_')[1].split('.')[0]) in collect_seeds
    for (k, call), done in zip(expected, episodes_done):
      if is_collect_env:
        assert done == (init_share + k if k > 0 else 0), (path, k, call)
      else:
        assert done == eval_share_per_env * sum(1 for e in eval_iterations if e < k), (
            path, k, call)


def test_summaries_hold_the_training_and_eval_tags(finished_run):
  train = read_scalars(os.path.join(finished_run.exp_dir, 'train'))
  for tag in summary_tags.LOSS_TAGS + (
      summary_tags.ALPHA, summary_tags.RETURN, summary_tags.EPISODE_LENGTH,
      summary_tags.ENV_STEPS, summary_tags.ENV_STEPS_PER_SEC, summary_tags.SGD_STEPS_PER_SEC,
      summary_tags.CURRICULUM_PREFIX + 'mass', summary_tags.CURRICULUM_PREFIX + 'friction'):
    assert tag in train, tag
  # The curriculum value logged at each iteration is the one due then.
  mass = dict(train[summary_tags.CURRICULUM_PREFIX + 'mass'])
  assert mass[100] == pytest.approx(1.0) and mass[NUM_ITER * 100] == pytest.approx(2.0)
  assert mass[16 * 100] == pytest.approx(4 / 3)  # iteration 15
  assert [s for s, _ in train[summary_tags.ITERATION]] == [100 * (k + 1) for k in range(NUM_ITER)]
  evaluation = read_scalars(os.path.join(finished_run.exp_dir, 'eval'))
  assert {summary_tags.RETURN, summary_tags.EPISODE_LENGTH} <= set(evaluation)
  eval_steps = [s for s, _ in evaluation[summary_tags.RETURN]]
  assert eval_steps == [100 * (k + 1) for k in (0, 10, 20, 30, 40, 50, 59)]
  # The point-mass env's episode measure (TrainParams.eval_measures) beside each eval return.
  distances = evaluation[summary_tags.EPISODE_MEASURES_PREFIX + 'final_distance']
  assert [s for s, _ in distances] == eval_steps and all(d >= 0 for _, d in distances)


def test_summaries_and_status_break_each_iteration_down_in_time(finished_run):
  train = read_scalars(os.path.join(finished_run.exp_dir, 'train'))
  for tag in (summary_tags.ITERATION_SECONDS, summary_tags.PUBLISH_SECONDS,
              summary_tags.SGD_SECONDS, summary_tags.BARRIER_WAIT_SECONDS,
              summary_tags.WORKER_COLLECT_SECONDS, summary_tags.WORKER_POLICY_PULL_SECONDS,
              summary_tags.WORKER_COLLECT_ENV_STEPS_PER_SEC,
              summary_tags.SYNC_OVERHEAD_FRACTION):
    assert [s for s, _ in train[tag]] == [100 * (k + 1) for k in range(NUM_ITER)], tag
  assert all(0 <= f < 1 for _, f in train[summary_tags.SYNC_OVERHEAD_FRACTION])
  # Workers evaluate every eval_period_itrs iterations, and only then take eval time.
  assert dict(train[summary_tags.WORKER_EVAL_SECONDS])[100] > 0
  assert dict(train[summary_tags.WORKER_EVAL_SECONDS])[200] == 0
  status = finished_run.status()
  assert status['timing'][summary_tags.SGD_SECONDS] > 0
  first_step_age = time.time() - status['first_sgd_step_at']
  assert 0 < first_step_age < 900


def test_run_py_evaluates_the_policy_and_records_a_video_without_reverb(finished_run):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  import imageio  # pylint: disable=g-import-not-at-top
  from training_run import REPO  # pylint: disable=g-import-not-at-top
  config_path = os.path.join(finished_run.exp_dir, 'config.json')
  argv = ['tfagents_system/run.py', '--params', 'tfagents_system/point_mass_params.py',
          '--exp_dir', finished_run.exp_dir, '--config', config_path,
          '--num_episodes', '2', '--checkpoint', 'latest', '--seed', '108']
  # Reverb made unimportable, as on a machine without it.
  script = ("import runpy, sys; sys.modules['reverb'] = None; sys.argv = %r; "
            "runpy.run_path('tfagents_system/run.py', run_name='__main__')" % argv)
  result = subprocess.run([sys.executable, '-c', script], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  printed = re.findall(r'episode \d+: return (-?[\d.]+), length 50, final_distance ([\d.]+)\n',
                       result.stdout)
  assert len(printed) == 2
  name = 'policy_checkpoint_%010d_iter%d_seed108' % (NUM_ITER * 100, NUM_ITER - 1)
  with open(os.path.join(finished_run.exp_dir, 'videos', name + '.json')) as f:
    saved = json.load(f)
  assert [(e['return'], e['final_distance']) for e in saved['episodes']] == [
      (pytest.approx(float(r), abs=1e-3), pytest.approx(float(d), abs=1e-3)) for r, d in printed]
  # The env's episode measure (how far from the origin the puck ended), averaged.
  assert saved['mean_final_distance'] == pytest.approx(
      sum(e['final_distance'] for e in saved['episodes']) / 2)
  assert f"final_distance {saved['mean_final_distance']:.3f} over 2 episodes" in result.stdout
  assert saved['curriculum_values'] == {'mass': 2.0, 'friction': pytest.approx(0.3)}
  with imageio.get_reader(os.path.join(finished_run.exp_dir, 'videos', name + '.mp4')) as video:
    assert sum(1 for _ in video) == 2 * 51  # first frame plus one per step


def test_run_py_records_an_animated_gif_of_every_nth_frame(finished_run):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from PIL import Image, ImageSequence  # pylint: disable=g-import-not-at-top
  from training_run import REPO  # pylint: disable=g-import-not-at-top
  result = subprocess.run(
      [sys.executable, 'tfagents_system/run.py', '--params', 'tfagents_system/point_mass_params.py',
       '--exp_dir', finished_run.exp_dir, '--config', os.path.join(finished_run.exp_dir, 'config.json'),
       '--num_episodes', '2', '--seed', '5', '--video_format', 'gif', '--frame_stride', '5',
       '--fps', '10'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stderr == ''  # no TensorFlow, tf-agents or absl lines on the terminal
  name = 'policy_checkpoint_%010d_iter%d_seed5' % (NUM_ITER * 100, NUM_ITER - 1)
  path = os.path.join(finished_run.exp_dir, 'videos', name + '.gif')
  assert f'video {path}' in result.stdout
  # Pillow merges identical consecutive frames into one of their summed duration (a puck at
  # rest), so the frame count can be lower; the playing time cannot.
  with Image.open(path) as video:
    durations = [frame.info['duration'] for frame in ImageSequence.Iterator(video)]
  assert min(durations) == 100  # ms per frame at --fps 10
  assert sum(durations) == 2 * 11 * 100  # frames 0, 5, ..., 50 of each episode


def test_run_py_takes_a_named_checkpoint_and_another_curriculum_iteration(finished_run):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from training_run import REPO  # pylint: disable=g-import-not-at-top
  result = subprocess.run(
      [sys.executable, 'tfagents_system/run.py', '--params', 'tfagents_system/point_mass_params.py',
       '--exp_dir', finished_run.exp_dir, '--config', os.path.join(finished_run.exp_dir, 'config.json'),
       '--num_episodes', '1', '--checkpoint', 'policy_checkpoint_0000002000',
       '--curriculum_iter', '16', '--seed', '3'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(finished_run.exp_dir, 'videos',
                         'policy_checkpoint_0000002000_iter16_seed3.json')) as f:
    saved = json.load(f)
  assert saved['train_step'] == 2000 and saved['seed'] == 3
  assert saved['curriculum_values'] == {'mass': pytest.approx(4 / 3)}  # friction starts at 20


def test_the_best_policy_is_the_best_evaluated_on_the_final_curriculum_and_run_py_runs_it(
    finished_run):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from training_run import REPO  # pylint: disable=g-import-not-at-top
  # Every evaluated policy but the untrained one has a checkpoint: evaluation k ran the policy
  # of train step 100 k, its summary is at 100 (k + 1).
  names = set(os.listdir(os.path.join(finished_run.exp_dir, 'policies', 'checkpoints')))
  assert {'policy_checkpoint_%010d' % (100 * k) for k in (10, 20, 30, 40, 50, 59)} <= names
  eval_returns = dict(read_scalars(os.path.join(finished_run.exp_dir, 'eval'))[summary_tags.RETURN])
  # The curriculum's last values are due from iteration 45: the evaluations of 50 and 59 ran
  # on them, and the earlier ones (other physics) do not compare.
  on_final_values = {k: eval_returns[100 * (k + 1)] for k in (50, 59)}
  iteration = max(on_final_values, key=on_final_values.get)
  best = finished_run.status()['best_policy']
  assert best == {'checkpoint': 'policy_checkpoint_%010d' % (100 * iteration),
                  'train_step': 100 * iteration, 'iteration': iteration,
                  'score_name': 'eval_return',
                  'score': pytest.approx(on_final_values[iteration], rel=1e-5),
                  'curriculum': {'mass': pytest.approx(2.0), 'friction': pytest.approx(0.3)}}
  assert f"best policy         {best['checkpoint']} (eval_return" in finished_run.output
  assert f"best policy: {best['checkpoint']} (eval_return" in run_status(finished_run.exp_dir)
  result = subprocess.run(
      [sys.executable, 'tfagents_system/run.py', '--params', 'tfagents_system/point_mass_params.py',
       '--exp_dir', finished_run.exp_dir, '--config', os.path.join(finished_run.exp_dir, 'config.json'),
       '--num_episodes', '1', '--checkpoint', 'best', '--seed', '4'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(finished_run.exp_dir, 'videos',
                         f"{best['checkpoint']}_iter{iteration - 1}_seed4.json")) as f:
    assert json.load(f)['train_step'] == 100 * iteration
