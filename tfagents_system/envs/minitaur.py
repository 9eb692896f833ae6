"""The pybullet Minitaur quadruped (MinitaurBulletEnv) as a tf-agents PyEnvironment.

Its mass and friction can be changed with `set_state`, which is what a
domain-randomization curriculum does; the values hold across resets.
"""
import contextlib
import io
import math
import types
from typing import Dict, Optional

import numpy as np
import pybullet
from pybullet_envs.bullet import env_randomizer_base
from pybullet_envs.bullet import minitaur
from pybullet_envs.bullet import minitaur_env_randomizer
from pybullet_envs.bullet import minitaur_gym_env
from pybullet_utils import bullet_client
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

# MinitaurBulletEnv calls bullet_client.BulletClient() with no mode, which first
# tries SHARED_MEMORY: it would attach to (and reset) any pybullet GUI running on
# the machine. Every MinitaurEnv gets a simulation of its own instead.
_DIRECT_BULLET_CLIENT = types.SimpleNamespace(
    BulletClient=lambda *args, **kwargs: bullet_client.BulletClient(
        connection_mode=pybullet.DIRECT))

GROUND_FRICTION = 1.0  # Bullet multiplies the two bodies' coefficients; see set_state


class _ResetHook(env_randomizer_base.EnvRandomizerBase):
  """Called by MinitaurBulletEnv.reset() after the robot is (re)loaded, before it settles."""

  def __init__(self, on_reset):
    self._on_reset = on_reset

  def randomize_env(self, env):
    self._on_reset(env)


class MinitaurEnv(py_environment.PyEnvironment):
  """Minitaur walking forward; observation: 28 motor angles, velocities, torques and
  the base quaternion; action: 8 leg commands in [-1, 1]; reward: forward progress
  minus an energy cost, and minus `fall_penalty` at a fall. An episode ends when the robot
  falls (terminal) or after `episode_length` steps (truncated, so SAC bootstraps through it).

  Without a fall penalty a fall is free: it ends the energy cost, and a policy that lunges
  forward and falls within a second earns more return than one still learning to walk
  (docs/minitaur.md). A penalty larger than a lunge's gain makes staying up worth learning.

  `set_state` / `get_state` keys:
    mass: a factor on the URDF mass of every link of the robot (base, chassis,
      motors, legs; nominal total 6.0 kg), so the robot weighs 6.0 kg * mass.
      pybullet scales each link's inertia with its mass. 1.0 is nominal; > 0.
    friction: the lateral friction coefficient of the 8 lower-leg (foot) links.
      The ground plane is held at 1.0 and Bullet multiplies the two, so this is
      the effective foot-ground coefficient. 1.0 is nominal (URDF); >= 0.
  `get_state` reads both back from pybullet (getDynamicsInfo).

  `episode_measures()` after an episode: how far the base travelled, from pybullet's base
  position (forward_distance_m along x, the direction the reward pays for; lateral_drift_m, the
  absolute sideways offset), for the evaluations that report them (common/episode_measures.py).

  Randomness: `seed` drives, at every reset, the battery voltage and the motor
  viscous damping (the ranges of pybullet_envs' MinitaurEnvRandomizer, whose mass
  and friction randomization is replaced by set_state), and the observation noise
  when `observation_noise_stdev` > 0. The physics itself is deterministic.
  """

  PHYSICS_KEYS = ('mass', 'friction')

  def __init__(self, seed: Optional[int] = None, episode_length: int = 1000,
               mass: float = 1.0, friction: float = 1.0,
               randomize_motors: bool = True, observation_noise_stdev: float = 0.0,
               fall_penalty: float = 0.0,
               render_width: int = 320, render_height: int = 240, **minitaur_kwargs):
    """`minitaur_kwargs` go to MinitaurBulletEnv (e.g. energy_weight, hard_reset)."""
    super().__init__(handle_auto_reset=True)
    for key in ('render', 'env_randomizer', 'observation_noise_stdev'):
      if key in minitaur_kwargs:
        raise ValueError(f'MinitaurEnv: {key!r} is set by MinitaurEnv itself')
    self._rng = np.random.default_rng(seed)
    self._episode_length = episode_length
    self._physics: Dict[str, float] = {}
    self._validate_and_store({'mass': mass, 'friction': friction})
    self._randomize_motors = randomize_motors
    self._observation_noise_stdev = observation_noise_stdev
    self._fall_penalty = float(fall_penalty)
    self._render_size = (render_width, render_height)
    self._nominal_masses = None  # per link, recorded from the URDF at the first reset
    self._steps = 0
    self._start_position = None  # of the base, at the episode's reset
    self._closed = False
    # The constructor resets once, which already runs _on_reset. It also prints
    # the URDF path on stdout; keep that out of the training logs.
    with contextlib.redirect_stdout(io.StringIO()), \
        _patched(minitaur_gym_env, 'bc', _DIRECT_BULLET_CLIENT):
      self._env = minitaur_gym_env.MinitaurBulletEnv(
          render=False, env_randomizer=_ResetHook(self._on_reset),
          observation_noise_stdev=0.0, **minitaur_kwargs)
    self._env.seed(None if seed is None else int(seed))
    self._client = self._env._pybullet_client  # pylint: disable=protected-access
    space = self._env.observation_space
    self._observation_scale = np.asarray(self._env.minitaur.GetObservationUpperBound())
    self._observation_spec = array_spec.ArraySpec(space.shape, np.float32, name='observation')
    self._action_spec = array_spec.BoundedArraySpec(
        self._env.action_space.shape, np.float32, minimum=-1.0, maximum=1.0, name='action')

  @property
  def physics_client_id(self) -> int:
    """For reading the simulation with pybullet's functions (physicsClientId=)."""
    return self._client._client  # pylint: disable=protected-access

  @property
  def robot_id(self) -> int:
    """The robot's body id; a hard reset reloads it, so look it up after a reset."""
    return self._env.minitaur.quadruped

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  # Physics parameters.

  def _validate_and_store(self, state: Dict[str, float]) -> None:
    for key in state:
      if key not in self.PHYSICS_KEYS:
        raise ValueError(f'MinitaurEnv.set_state: unknown key {key!r} '
                         f'(known: {", ".join(self.PHYSICS_KEYS)})')
    for key, value in state.items():
      value = float(value)
      if not math.isfinite(value):
        raise ValueError(f'MinitaurEnv.set_state: {key} must be finite, got {value}')
      if key == 'mass' and value <= 0:
        raise ValueError(f'MinitaurEnv.set_state: mass must be positive, got {value}')
      if key == 'friction' and value < 0:
        raise ValueError(f'MinitaurEnv.set_state: friction must be >= 0, got {value}')
    self._physics.update({key: float(value) for key, value in state.items()})

  def set_state(self, state: Dict[str, float]) -> None:
    """Applies now (mid-episode too) and again after every reset."""
    self._validate_and_store(state)
    self._apply_physics(self._client, self._env.minitaur.quadruped)

  def get_state(self) -> Dict[str, float]:
    client, robot = self._client, self._env.minitaur.quadruped
    masses = [client.getDynamicsInfo(robot, link)[0] for link in self._links(client, robot)]
    foot_frictions = [client.getDynamicsInfo(robot, link)[1] for link in minitaur.FOOT_LINK_ID]
    return {'mass': float(sum(masses) / sum(self._nominal_masses)),
            'friction': float(np.mean(foot_frictions))}

  @staticmethod
  def _links(client, robot):
    return range(-1, client.getNumJoints(robot))

  def _apply_physics(self, client, robot) -> None:
    for link, nominal in zip(self._links(client, robot), self._nominal_masses):
      client.changeDynamics(robot, link, mass=nominal * self._physics['mass'])
    for link in minitaur.FOOT_LINK_ID:
      client.changeDynamics(robot, link, lateralFriction=self._physics['friction'])
    for body in range(client.getNumBodies()):
      if client.getBodyUniqueId(body) != robot:  # the ground plane
        client.changeDynamics(client.getBodyUniqueId(body), -1, lateralFriction=GROUND_FRICTION)

  def _on_reset(self, env) -> None:
    # A hard reset reloads the robot from the URDF, so everything is re-applied.
    client, robot = env._pybullet_client, env.minitaur.quadruped  # pylint: disable=protected-access
    if self._nominal_masses is None:
      self._nominal_masses = [client.getDynamicsInfo(robot, link)[0]
                              for link in self._links(client, robot)]
    self._apply_physics(client, robot)
    if self._randomize_motors:
      env.minitaur.SetBatteryVoltage(
          self._rng.uniform(*minitaur_env_randomizer.BATTERY_VOLTAGE_RANGE))
      env.minitaur.SetMotorViscousDamping(
          self._rng.uniform(*minitaur_env_randomizer.MOTOR_VISCOUS_DAMPING_RANGE))

  # Episodes.

  def _observation(self, observation) -> np.ndarray:
    observation = np.asarray(observation, dtype=np.float64)
    if self._observation_noise_stdev > 0:
      observation = observation + self._observation_scale * self._rng.normal(
          scale=self._observation_noise_stdev, size=observation.shape)
    return observation.astype(np.float32)

  def _reset(self):
    self._steps = 0
    observation = self._observation(self._env.reset())
    self._start_position = self._env.minitaur.GetBasePosition()
    return ts.restart(observation)

  def _step(self, action):
    action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    observation, reward, fallen, _ = self._env.step(action)
    self._steps += 1
    observation = self._observation(observation)
    if fallen:
      return ts.termination(observation, reward - self._fall_penalty)
    if self._steps >= self._episode_length:
      return ts.truncation(observation, reward)
    return ts.transition(observation, reward, discount=1.0)

  def episode_measures(self) -> Dict[str, float]:
    """The base's travel since the episode's reset, in metres."""
    x, y, _ = self._env.minitaur.GetBasePosition()
    start_x, start_y, _ = self._start_position
    return {'forward_distance_m': float(x - start_x), 'lateral_drift_m': float(abs(y - start_y))}

  def render(self, mode: str = 'rgb_array') -> np.ndarray:
    """A camera following the robot; TinyRenderer, as DIRECT mode has no OpenGL."""
    if mode != 'rgb_array':
      raise NotImplementedError(f'MinitaurEnv renders only rgb_array, not {mode!r}')
    width, height = self._render_size
    view = self._client.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=self._env.minitaur.GetBasePosition(), distance=1.0,
        yaw=30, pitch=-30, roll=0, upAxisIndex=2)
    projection = self._client.computeProjectionMatrixFOV(
        fov=60, aspect=width / height, nearVal=0.1, farVal=100.0)
    pixels = self._client.getCameraImage(
        width=width, height=height, viewMatrix=view, projectionMatrix=projection,
        renderer=pybullet.ER_TINY_RENDERER)[2]
    return np.asarray(pixels, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

  def close(self) -> None:
    if not self._closed:
      self._closed = True
      self._client.disconnect()


@contextlib.contextmanager
def _patched(module, name, value):
  original = getattr(module, name)
  setattr(module, name, value)
  try:
    yield
  finally:
    setattr(module, name, original)
