"""Which CPUs each program of a run is pinned to."""
import dataclasses
import itertools
from typing import Dict, Iterable, List, Sequence, Tuple


class CpuPlanError(ValueError):
  """The CPUs cannot be planned as asked, described in one line."""


def parse_cpu_list(text: str) -> List[int]:
  """'0-3,8,10-11' -> [0, 1, 2, 3, 8, 10, 11] (the Linux cpulist format)."""
  cpus = set()
  for part in text.strip().split(','):
    if not part:
      continue
    first, _, last = part.partition('-')
    try:
      low, high = int(first), int(last or first)
    except ValueError:
      raise CpuPlanError(f'not a CPU list: {text!r}') from None
    if low > high or low < 0:
      raise CpuPlanError(f'not a CPU list: {text!r}')
    cpus.update(range(low, high + 1))
  return sorted(cpus)


def format_cpu_list(cpus: Iterable[int]) -> str:
  """[0, 1, 2, 3, 8, 10, 11] -> '0-3,8,10-11' (for taskset -c)."""
  ranges = []
  for _, group in itertools.groupby(enumerate(sorted(cpus)), lambda p: p[1] - p[0]):
    members = [cpu for _, cpu in group]
    ranges.append(str(members[0]) if len(members) == 1 else f'{members[0]}-{members[-1]}')
  return ','.join(ranges)


@dataclasses.dataclass(frozen=True)
class CpuPlan:
  assignments: Dict[str, List[int]]  # program name -> CPUs, in launch order
  shared: bool  # whether some programs share CPUs because too few were available

  def cpus_of(self, program: str) -> List[int]:
    return self.assignments[program]


def plan_cpus(available: Sequence[int], requests: Sequence[Tuple[str, int]],
              strict: bool = False) -> CpuPlan:
  """Gives each (program, count) request its own CPUs out of `available`.

  When there are too few, programs share: each still gets `count` CPUs (at most
  all of them), handed out round-robin, unless `strict` refuses instead.
  """
  available = sorted(available)
  for name, count in requests:
    if count < 1:
      raise CpuPlanError(f'{name} needs at least 1 CPU, got {count}')
  needed = sum(count for _, count in requests)
  if needed > len(available) and strict:
    raise CpuPlanError(
        f'{needed} CPUs requested but only {len(available)} available '
        f'({format_cpu_list(available)}); SAC_STRICT_CPUS=1 refuses to share them')
  cycle = itertools.cycle(available)
  assignments = {}
  for name, count in requests:
    cpus = set()
    while len(cpus) < min(count, len(available)):
      cpus.add(next(cycle))
    assignments[name] = sorted(cpus)
  return CpuPlan(assignments, shared=needed > len(available))
