"""Domain-randomization curriculum: which environment values are due at which iteration.

For each parameter, `values = linspace(range_min, range_max, len(iters))`; the value
`values[j]` is due at iteration `iters[j]` and is applied with `env.set_state({name: value})`.
"""
import dataclasses
import math
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np


class ConfigError(ValueError):
  """A problem in the JSON config, described in one line."""


@dataclasses.dataclass(frozen=True)
class ParameterSchedule:
  name: str
  iters: Tuple[int, ...]
  values: Tuple[float, ...]

  @classmethod
  def from_json(cls, name: str, entry: Any) -> 'ParameterSchedule':
    where = f'curriculum parameter {name!r}'
    if not isinstance(entry, dict):
      raise ConfigError(f'{where}: must be an object with "iters" and "range"')
    unknown = sorted(set(entry) - {'iters', 'range'})
    if unknown:
      raise ConfigError(f'{where}: unknown key {unknown[0]!r} (expected "iters" and "range")')
    for key in ('iters', 'range'):
      if key not in entry:
        raise ConfigError(f'{where}: missing "{key}"')

    iters = entry['iters']
    if not isinstance(iters, list) or not iters:
      raise ConfigError(f'{where}: "iters" must be a non-empty list of iteration numbers')
    for previous, current in zip([0] + iters, iters):
      if not _is_int(current) or current < 0:
        raise ConfigError(f'{where}: "iters" must hold non-negative integers, got {current!r}')
      if current < previous:
        raise ConfigError(f'{where}: "iters" must be non-decreasing, got {current} after {previous}')

    value_range = entry['range']
    if (not isinstance(value_range, list) or len(value_range) != 2 or
        not all(_is_finite_number(v) for v in value_range)):
      raise ConfigError(f'{where}: "range" must be two finite numbers [min, max], got {value_range!r}')

    values = np.linspace(value_range[0], value_range[1], len(iters))
    return cls(name, tuple(iters), tuple(float(v) for v in values))

  def num_due(self, iteration: int) -> int:
    return sum(1 for i in self.iters if i <= iteration)


class Curriculum:
  """The schedules of all curriculum parameters, in the config's order."""

  def __init__(self, schedules: List[ParameterSchedule]):
    self.schedules = schedules

  @classmethod
  def from_env_config(cls, env_config: Mapping[str, Any]) -> 'Curriculum':
    section = env_config.get('curriculum', {})
    if not isinstance(section, dict):
      raise ConfigError('"curriculum" must be an object mapping parameter names to schedules')
    return cls([ParameterSchedule.from_json(name, entry) for name, entry in section.items()])

  @property
  def names(self) -> List[str]:
    return [s.name for s in self.schedules]

  def values_at(self, iteration: int) -> Dict[str, float]:
    """The latest value of every parameter due by `iteration` (absent: none due yet)."""
    values = {}
    for schedule in self.schedules:
      due = schedule.num_due(iteration)
      if due:
        values[schedule.name] = schedule.values[due - 1]
    return values


class CurriculumCursor:
  """One environment's position in the curriculum: what it has been given so far."""

  def __init__(self, curriculum: Curriculum):
    self._curriculum = curriculum
    self._num_applied = {s.name: 0 for s in curriculum.schedules}

  def join_at(self, iteration: int, restarted: bool) -> None:
    """An environment joining a run under way (a restarted worker, or one joining after the
    start) gets the latest value of each parameter due by `iteration`, once; one starting
    with the run replays every value due, as the reference pseudo-code does."""
    if iteration > 0 or restarted:
      self.skip_to(iteration)

  def skip_to(self, iteration: int) -> None:
    """Marks as applied all values due by `iteration` but the latest of each parameter."""
    for schedule in self._curriculum.schedules:
      self._num_applied[schedule.name] = max(
          self._num_applied[schedule.name], schedule.num_due(iteration) - 1, 0)

  def updates_due(self, iteration: int) -> List[Tuple[str, float]]:
    """Every value due by `iteration` and not yet applied, in order; marks them applied."""
    updates = []
    for schedule in self._curriculum.schedules:
      due = schedule.num_due(iteration)
      for j in range(self._num_applied[schedule.name], due):
        updates.append((schedule.name, schedule.values[j]))
      self._num_applied[schedule.name] = max(self._num_applied[schedule.name], due)
    return updates


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
