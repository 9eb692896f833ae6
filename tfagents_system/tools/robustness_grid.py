"""The grid of a robustness sweep (run.py --sweep): parsing, cells, episode seeds, trained ranges.

Pure Python: checked before anything heavy starts.
"""
import dataclasses
import itertools
import math
from typing import List, Optional, Sequence, Tuple

from tfagents_system.common.curriculum import Curriculum

MAX_PARAMETERS = 2
MAX_CELLS = 10_000


class SweepError(ValueError):
  """Bad input to a sweep, in one line."""


@dataclasses.dataclass(frozen=True)
class Axis:
  """One swept parameter and its values, ascending."""
  name: str
  values: Tuple[float, ...]


def _number(text: str, where: str) -> float:
  try:
    value = float(text)
  except ValueError:
    raise SweepError(f'{where}: {text!r} is not a number') from None
  if not math.isfinite(value):
    raise SweepError(f'{where}: {text!r} is not a finite number')
  return value


def parse_axis(text: str) -> Axis:
  """NAME=LOW:HIGH:STEPS (STEPS values, both ends included) or NAME=V1,V2,..."""
  where = f'--sweep {text}'
  name, equals, spec = text.partition('=')
  name = name.strip()
  if not equals or not name or not spec.strip():
    raise SweepError(f'{where}: expected NAME=LOW:HIGH:STEPS or NAME=V1,V2,..., '
                     'e.g. mass=0.5:2.0:7 or mass=0.8,1.0,1.3')
  if ':' in spec:
    parts = spec.split(':')
    if len(parts) != 3:
      raise SweepError(f'{where}: a range is LOW:HIGH:STEPS, e.g. {name}=0.5:2.0:7')
    low, high = _number(parts[0], where), _number(parts[1], where)
    try:
      steps = int(parts[2])
    except ValueError:
      raise SweepError(f'{where}: STEPS must be a whole number, got {parts[2]!r}') from None
    if steps < 2:
      raise SweepError(f'{where}: STEPS must be at least 2, got {steps} '
                       f'(one value is {name}=VALUE)')
    if not low < high:
      raise SweepError(f'{where}: LOW must be below HIGH')
    # Rounded to 12 digits: 0.1:0.5:5 gives 0.3, not 0.30000000000000004.
    values = tuple(float(f'{low + (high - low) * i / (steps - 1):.12g}') for i in range(steps))
  else:
    values = tuple(sorted(_number(v, where) for v in spec.split(',')))
    repeated = next((a for a, b in zip(values, values[1:]) if a == b), None)
    if repeated is not None:
      raise SweepError(f'{where}: {repeated:g} is given twice')
  return Axis(name, values)


def parse_grid(texts: Sequence[str]) -> List[Axis]:
  axes = [parse_axis(t) for t in texts]
  names = [a.name for a in axes]
  if len(axes) > MAX_PARAMETERS:
    raise SweepError(f'--sweep takes one or two parameters, got {len(axes)} ({", ".join(names)})')
  if len(set(names)) < len(names):
    raise SweepError(f'--sweep {names[0]} is given twice')
  cells = math.prod(len(a.values) for a in axes)
  if cells > MAX_CELLS:
    sizes = ' x '.join(f'{len(a.values)} {a.name}' for a in axes)
    raise SweepError(f'the grid has {cells:,} cells ({sizes}); at most {MAX_CELLS:,}')
  return axes


def grid_cells(axes: Sequence[Axis]) -> List[Tuple[float, ...]]:
  """The cells' values in the order of `axes`, the first parameter varying slowest."""
  return list(itertools.product(*(a.values for a in axes)))


def episode_seeds(seed: int, num_cells: int, cell: int, num_episodes: int) -> List[int]:
  first = (seed * num_cells + cell) * num_episodes
  return list(range(first, first + num_episodes))


def trained_range(curriculum: Curriculum, name: str,
                  iteration: int) -> Optional[Tuple[float, float]]:
  """[min, max] of the values of `name` the curriculum gave by `iteration`; None: none (the
  env kept its own value)."""
  for schedule in curriculum.schedules:
    if schedule.name == name:
      given = schedule.values[:schedule.num_due(iteration)]
      return (min(given), max(given)) if given else None
  return None


def cell_label(names: Sequence[str], values: Sequence[float]) -> str:
  return '_'.join(f'{n}={v:g}' for n, v in zip(names, values))
