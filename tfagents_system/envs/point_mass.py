"""A puck pushed across a plane to the origin: a small, fast task for SAC.

Its physical parameters (mass, friction) can be changed between episodes with
`set_state`, which is what a domain-randomization curriculum does.
"""
from typing import Dict, Optional

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

ARENA = 2.0  # the puck stays within [-ARENA, ARENA]^2


class PointMassEnv(py_environment.PyEnvironment):
  """Observation (x, y, vx, vy); action: a 2D force in [-1, 1]^2; reward: -distance to the origin."""

  PHYSICS_KEYS = ('mass', 'friction')

  def __init__(self, seed: Optional[int] = None, episode_length: int = 50,
               mass: float = 1.0, friction: float = 0.1, max_force: float = 5.0,
               dt: float = 0.05):
    super().__init__(handle_auto_reset=True)
    self._rng = np.random.default_rng(seed)
    self._episode_length = episode_length
    self._physics = {'mass': float(mass), 'friction': float(friction)}
    self._max_force = max_force
    self._dt = dt
    self._position = np.zeros(2)
    self._velocity = np.zeros(2)
    self._steps = 0

  def observation_spec(self):
    return array_spec.BoundedArraySpec((4,), np.float32, minimum=-10.0, maximum=10.0,
                                       name='observation')

  def action_spec(self):
    return array_spec.BoundedArraySpec((2,), np.float32, minimum=-1.0, maximum=1.0,
                                       name='action')

  def get_state(self) -> Dict[str, float]:
    return dict(self._physics)

  def set_state(self, state: Dict[str, float]) -> None:
    for key, value in state.items():
      if key not in self.PHYSICS_KEYS:
        raise ValueError(f'PointMassEnv.set_state: unknown key {key!r} '
                         f'(known: {", ".join(self.PHYSICS_KEYS)})')
      if key == 'mass' and value <= 0:
        raise ValueError(f'PointMassEnv.set_state: mass must be positive, got {value}')
      self._physics[key] = float(value)

  def _observation(self) -> np.ndarray:
    return np.concatenate([self._position, self._velocity]).astype(np.float32)

  def _reset(self):
    self._position = self._rng.uniform(-1.0, 1.0, size=2)
    self._velocity = np.zeros(2)
    self._steps = 0
    return ts.restart(self._observation())

  def _step(self, action):
    force = self._max_force * np.clip(action, -1.0, 1.0)
    acceleration = (force - self._physics['friction'] * 9.81 * self._velocity) / self._physics['mass']
    self._velocity = self._velocity + self._dt * acceleration
    self._position = np.clip(self._position + self._dt * self._velocity, -ARENA, ARENA)
    self._steps += 1
    reward = -float(np.linalg.norm(self._position))
    if self._steps >= self._episode_length:
      return ts.termination(self._observation(), reward)
    return ts.transition(self._observation(), reward, discount=1.0)

  def episode_measures(self) -> Dict[str, float]:
    """How far from the origin the puck ended (common/episode_measures.py)."""
    return {'final_distance': float(np.linalg.norm(self._position))}

  def render(self, mode: str = 'rgb_array') -> np.ndarray:
    if mode != 'rgb_array':
      raise NotImplementedError(f'PointMassEnv renders only rgb_array, not {mode!r}')
    size = 128
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    rows, cols = np.mgrid[0:size, 0:size]
    to_pixel = lambda v: (v + ARENA) / (2 * ARENA) * (size - 1)
    center = size // 2
    image[(np.abs(rows - center) <= 2) & (np.abs(cols - center) <= 2)] = (0, 160, 0)
    x, y = to_pixel(self._position[0]), to_pixel(-self._position[1])
    image[(rows - y) ** 2 + (cols - x) ** 2 <= 25] = (200, 30, 30)
    return image
