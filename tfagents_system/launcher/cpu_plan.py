"""Which CPUs each program of a run is pinned to."""
import collections
import dataclasses
import itertools
from typing import Collection, Dict, Iterable, List, Sequence, Tuple

from tfagents_system.common import experiment_dir


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

  def sharing(self) -> str:
    """Which programs run on which CPUs, e.g. 'CPU 0: a, b; CPU 1: c'."""
    programs_on = collections.defaultdict(list)
    for name, cpus in self.assignments.items():
      programs_on[format_cpu_list(cpus)].append(name)
    return '; '.join(f'CPU{"s" if len(parse_cpu_list(cpus)) > 1 else ""} {cpus}: '
                     f'{", ".join(names)}' for cpus, names in sorted(
                         programs_on.items(), key=lambda item: parse_cpu_list(item[0])))


def plan_cpus(available: Sequence[int], requests: Sequence[Tuple[str, int]],
              strict: bool = False, dedicated: Collection[str] = ()) -> CpuPlan:
  """Gives each (program, count) request its own CPUs out of `available`.

  When there are too few, programs share: each still gets `count` CPUs (at most all of them),
  handed out round-robin, unless `strict` refuses instead. The programs named in `dedicated`
  keep the last CPUs to themselves as long as one CPU is left for the others: the trainer's
  SGD steps are the run's bottleneck when they share a CPU with a worker.
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
  if needed <= len(available):
    return CpuPlan(_round_robin(available, requests), shared=False)
  own = [(name, count) for name, count in requests if name in dedicated]
  kept = sum(count for _, count in own)
  if not own or kept >= len(available):
    return CpuPlan(_round_robin(available, requests), shared=True)
  others = [(name, count) for name, count in requests if name not in dedicated]
  assignments = {**_round_robin(available[len(available) - kept:], own),
                 **_round_robin(available[:len(available) - kept], others)}
  return CpuPlan({name: assignments[name] for name, _ in requests}, shared=True)


def plan_run(available: Sequence[int], reverb_cpus: int, train_cpus: int, worker_cpus: int,
             workers: Iterable[int], strict: bool = False) -> CpuPlan:
  """The plan of a run's programs on this machine: the replay server, the trainer (kept apart
  when CPUs are scarce) and the workers with the given indices."""
  requests = [(experiment_dir.REPLAY_PROGRAM, reverb_cpus),
              (experiment_dir.TRAIN_PROGRAM, train_cpus)]
  requests += [(experiment_dir.collect_program(i), worker_cpus) for i in workers]
  return plan_cpus(available, requests, strict, dedicated={experiment_dir.TRAIN_PROGRAM})


def _round_robin(available: Sequence[int], requests: Sequence[Tuple[str, int]]
                 ) -> Dict[str, List[int]]:
  cycle = itertools.cycle(available)
  assignments = {}
  for name, count in requests:
    cpus = set()
    while len(cpus) < min(count, len(available)):
      cpus.add(next(cycle))
    assignments[name] = sorted(cpus)
  return assignments
