"""The Minitaur example: its params and config load, and set_state really changes pybullet."""
import json
import os

import numpy as np
import pybullet
import pytest
from pybullet_envs.bullet import minitaur
from tf_agents.specs import array_spec
from tf_agents.train.utils import spec_utils
import tensorflow as tf

from training_run import REPO
from tfagents_system.common import params_loading
from tfagents_system.common.curriculum import Curriculum

PARAMS = 'tfagents_system/minitaur_params.py'
CONFIG = 'config/minitaur.json'
URDF_TOTAL_MASS = 6.0  # kg, minitaur.urdf


@pytest.fixture(scope='module')
def params():
  return params_loading.load_train_params(PARAMS, CONFIG)


@pytest.fixture
def env(params):
  args, kwargs = params.collect_env_args_kwargs()
  kwargs = dict(kwargs, episode_length=20)  # short episodes keep the test fast
  env = params.env_ctor(*args, seed=0, **kwargs)
  yield env
  env.close()


def dynamics(env, link):
  return pybullet.getDynamicsInfo(env.robot_id, link, physicsClientId=env.physics_client_id)


def total_mass(env):
  links = range(-1, pybullet.getNumJoints(env.robot_id, physicsClientId=env.physics_client_id))
  return sum(dynamics(env, link)[0] for link in links)


def foot_frictions(env):
  return [dynamics(env, link)[1] for link in minitaur.FOOT_LINK_ID]


def ground_friction(env):
  cid = env.physics_client_id
  bodies = [pybullet.getBodyUniqueId(i, physicsClientId=cid)
            for i in range(pybullet.getNumBodies(physicsClientId=cid))]
  (plane,) = [b for b in bodies if b != env.robot_id]
  return pybullet.getDynamicsInfo(plane, -1, physicsClientId=cid)[1]


def test_params(params):
  assert type(params).__name__ == 'TrainParams'
  assert params.actor_fc_layer_params == (256, 256)
  assert params.critic_joint_fc_layer_params == (256, 256)
  assert params.episode_length == 1000
  # The config's env_kwargs reach both envs: a fall costs what config/minitaur.json says.
  expected = ((), {'episode_length': 1000, 'fall_penalty': 1.0})
  assert params.collect_env_args_kwargs() == params.eval_env_args_kwargs() == expected
  assert params.eval_measures == ('forward_distance_m',)


def test_curriculum_validates_and_env_accepts_its_values(env):
  with open(os.path.join(REPO, CONFIG)) as f:
    config = json.load(f)
  curriculum = Curriculum.from_env_config(config)
  assert curriculum.names == ['mass', 'friction']
  for schedule in curriculum.schedules:
    for value in schedule.values:
      env.set_state({schedule.name: value})
      assert env.get_state()[schedule.name] == pytest.approx(value)


def test_nominal_dynamics(env):
  assert env.get_state() == pytest.approx({'mass': 1.0, 'friction': 1.0})
  assert total_mass(env) == pytest.approx(URDF_TOTAL_MASS)


def test_set_state_changes_pybullet_dynamics(env):
  base_mass, base_inertia = dynamics(env, -1)[0], np.array(dynamics(env, -1)[2])
  env.set_state({'mass': 1.3, 'friction': 0.7})
  assert total_mass(env) == pytest.approx(1.3 * URDF_TOTAL_MASS)
  assert dynamics(env, -1)[0] == pytest.approx(1.3 * base_mass)
  np.testing.assert_allclose(dynamics(env, -1)[2], 1.3 * base_inertia, rtol=1e-6)
  assert foot_frictions(env) == pytest.approx([0.7] * len(minitaur.FOOT_LINK_ID))
  assert ground_friction(env) == pytest.approx(1.0)
  assert env.get_state() == pytest.approx({'mass': 1.3, 'friction': 0.7})


def test_set_state_persists_across_resets(env):
  env.set_state({'mass': 0.8, 'friction': 0.5})
  for _ in range(2):
    env.reset()  # a hard reset: the robot is reloaded from the URDF
    assert total_mass(env) == pytest.approx(0.8 * URDF_TOTAL_MASS)
    assert foot_frictions(env) == pytest.approx([0.5] * len(minitaur.FOOT_LINK_ID))
  # And across the automatic reset after an episode ends.
  time_step = env.reset()
  while not time_step.is_last():
    time_step = env.step(np.zeros(8, np.float32))
  assert env.step(np.zeros(8, np.float32)).is_first()
  assert total_mass(env) == pytest.approx(0.8 * URDF_TOTAL_MASS)
  assert env.get_state() == pytest.approx({'mass': 0.8, 'friction': 0.5})


def test_constructor_values(params):
  env = params.env_ctor(seed=0, episode_length=5, mass=1.2, friction=0.9)
  try:
    assert total_mass(env) == pytest.approx(1.2 * URDF_TOTAL_MASS)
    assert foot_frictions(env) == pytest.approx([0.9] * len(minitaur.FOOT_LINK_ID))
  finally:
    env.close()


def test_unknown_or_bad_key_raises(env):
  with pytest.raises(ValueError, match="unknown key 'foo'"):
    env.set_state({'mass': 2.0, 'foo': 1.0})
  assert env.get_state()['mass'] == pytest.approx(1.0)  # nothing applied
  with pytest.raises(ValueError, match='mass'):
    env.set_state({'mass': 0.0})
  with pytest.raises(ValueError, match='friction'):
    env.set_state({'friction': -0.1})


def test_step_matches_specs(env):
  assert env.observation_spec().shape == (28,)
  assert env.observation_spec().dtype == np.float32
  assert env.action_spec().shape == (8,)
  time_step = env.reset()
  array_spec.check_arrays_nest(time_step, env.time_step_spec())
  for _ in range(5):
    action = array_spec.sample_spec_nest(env.action_spec(), np.random.default_rng(0))
    time_step = env.step(action)
    array_spec.check_arrays_nest(time_step, env.time_step_spec())
    assert np.all(np.isfinite(time_step.observation))


def test_time_limit_truncates(env):
  time_step, steps = env.reset(), 0
  while not time_step.is_last():
    time_step = env.step(np.zeros(8, np.float32))
    steps += 1
  assert steps == 20 and time_step.discount == 1.0  # standing still: truncated, not fallen


def test_episode_measures_are_the_base_travel_from_pybullets_position(env):
  env.reset()
  assert env.episode_measures() == pytest.approx({'forward_distance_m': 0.0,
                                                  'lateral_drift_m': 0.0})
  cid = env.physics_client_id
  position, orientation = pybullet.getBasePositionAndOrientation(env.robot_id, physicsClientId=cid)
  moved = (position[0] + 1.5, position[1] - 0.25, position[2])
  pybullet.resetBasePositionAndOrientation(env.robot_id, moved, orientation, physicsClientId=cid)
  assert env.episode_measures() == pytest.approx({'forward_distance_m': 1.5,
                                                  'lateral_drift_m': 0.25})
  env.reset()  # measured from each episode's own start
  assert env.episode_measures()['forward_distance_m'] == pytest.approx(0.0)


def test_a_fall_ends_the_episode_and_costs_the_fall_penalty(params):
  rewards = []
  for penalty in (0.0, 2.5):
    env = params.env_ctor(seed=0, episode_length=20, fall_penalty=penalty)
    try:
      env.reset()
      cid = env.physics_client_id
      position, _ = pybullet.getBasePositionAndOrientation(env.robot_id, physicsClientId=cid)
      upside_down = pybullet.getQuaternionFromEuler([np.pi, 0, 0])
      pybullet.resetBasePositionAndOrientation(env.robot_id, position, upside_down,
                                               physicsClientId=cid)
      time_step = env.step(np.zeros(8, np.float32))
      assert time_step.is_last() and time_step.discount == 0.0  # fallen: terminal
      rewards.append(float(time_step.reward))
    finally:
      env.close()
  assert rewards[1] == pytest.approx(rewards[0] - 2.5)


def test_seed_drives_randomness(params):
  def trajectory(seed):
    env = params.env_ctor(seed=seed, episode_length=20)
    try:
      env.reset()
      actions = np.random.default_rng(0).uniform(-1, 1, (10, 8)).astype(np.float32)
      return np.array([env.step(a).observation for a in actions])
    finally:
      env.close()
  np.testing.assert_array_equal(trajectory(1), trajectory(1))
  assert not np.array_equal(trajectory(1), trajectory(2))


def test_render(env):
  image = env.render(mode='rgb_array')
  assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
  assert image.std() > 0  # not a blank frame


def test_close_disconnects(params):
  env = params.env_ctor(seed=0, episode_length=5)
  client = env.physics_client_id
  assert pybullet.getConnectionInfo(client)['connectionMethod'] == pybullet.DIRECT
  env.close()
  assert not pybullet.getConnectionInfo(client)['isConnected']
  env.close()  # twice is fine


def test_agent_builds_for_env(params, env):
  observation_spec, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
  agent = params.agent_ctor(time_step_spec, action_spec, tf.Variable(0, dtype=tf.int64))
  agent.initialize()


def test_minitaur_example_runs_through_the_whole_system(tmp_path):
  import json  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  from training_run import REPO, TrainingRun  # pylint: disable=g-import-not-at-top
  with open(os.path.join(REPO, 'config', 'minitaur.json')) as f:
    config = json.load(f)
  config.update(episode_length=30, num_iter=3)
  config['curriculum']['mass']['iters'] = [0, 1, 2, 2, 2]
  run = TrainingRun(tmp_path, config, params='tests/params/short_minitaur_params.py').start()
  try:
    assert run.wait() == 0, run.output
    status = run.status()
    assert status['done'] and status['train_step'] == 30 and status['eval_return'] is not None
    # Each of the 2 workers collected at least min_train_env_steps_per_iter in each iteration.
    assert status['env_steps'] >= 3 * 2 * 60
    assert run.leftover_processes() == []
    # pybullet's prints while the launcher checks the env stay off the terminal.
    assert 'argv[0]=' not in run.output and 'current_dir=' not in run.output
  finally:
    run.stop()
