"""How the trainer and the collect workers keep in step, entirely through Reverb: the protocol,
and what both sides share (the iteration numbers, the workers' reports). The trainer's side is
trainer_side.py, a worker's worker_side.py.

Tables on the replay server (replay_tables.py):
  experience      the replay buffer, an item per episode (episode_items.py): the durable copy,
                  checkpointed and reloaded on restarts.
  experience_feed the same items, each read once by the trainer (queue_reader.py) into its own
                  copy, which it samples at memory speed (trainer_replay.py).
  variables       the latest policy variables and train step (ReverbVariableContainer).
  iteration       the iteration the latest policy was published for: what a worker checks
                  when it is woken, or after a wait of a second.
  publication_notices  a notice per worker at each publication, which a waiting worker
                  blocks on (no polling: it wakes as the notice is written).
  worker_reports  a queue of per-iteration reports from the workers (experience
                  written, collect and eval returns) that the trainer drains.

Iteration k: the trainer publishes the policy for k, runs k's SGD steps, then
waits (bounded) until every worker has reported k, publishes k + 1 and only then records
and checkpoints k. A worker takes the policy for k, collects, reports k, and waits for the
next publication. Iteration INIT_ITERATION is the initial random-policy collection.

When the replay server restarts (replay_connection.py says when a failed call means that),
it comes back with its last checkpoint, or empty, and without the publication and the reports.
The trainer notices (its publication is gone) and publishes the iteration again; workers
abandon the iteration they were on and follow the new publication. Its own replay keeps what
it had taken in; when that holds less than a batch and does not grow, it collects the
random-policy episodes again.
"""
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from tfagents_system.common.curriculum import Curriculum

INIT_ITERATION = -1


@dataclasses.dataclass(frozen=True)
class ReportLayout:
  """The named values a report carries besides its fixed fields, in array order: the
  curriculum's parameters (the config) and the eval env's episode measures
  (TrainParams.eval_measures); both sides know them from the run's params."""
  curriculum_names: Tuple[str, ...] = ()
  measure_names: Tuple[str, ...] = ()

  @classmethod
  def of(cls, params) -> 'ReportLayout':
    return cls(tuple(Curriculum.from_env_config(params.env_config).names),
               tuple(params.eval_measures))


@dataclasses.dataclass
class WorkerReport:
  """What a worker did in one iteration."""
  worker: int
  iteration: int
  env_steps: int = 0
  collect_episodes: int = 0
  collect_return_sum: float = 0.0
  collect_length_sum: float = 0.0
  eval_episodes: int = 0
  eval_return_sum: float = 0.0
  eval_length_sum: float = 0.0
  # Where the worker's iteration went (RunTime/* summaries, bench/).
  collect_seconds: float = 0.0
  eval_seconds: float = 0.0
  policy_pull_seconds: float = 0.0
  publication_wait_seconds: float = 0.0  # before this iteration's publication was seen
  # For its turn on CPUs it shares with other workers (common/cpu_turns.py): while they
  # collected and evaluated.
  cpu_turn_wait_seconds: float = 0.0
  # The train step of the policy it collected and evaluated with (its publication's).
  policy_train_step: int = 0
  # The publication it answers: a worker that did not notice the replay server restart sends
  # the new server a report of the iteration published on the old one, with its experience
  # partly lost; the trainer, which published the iteration again, must not count it.
  publication: int = 0
  # The curriculum values its envs had: the Curriculum/* summaries are what workers applied.
  curriculum: Dict[str, float] = dataclasses.field(default_factory=dict)
  # The eval episodes' measures (common/episode_measures.py), added up like their returns.
  eval_measure_sums: Dict[str, float] = dataclasses.field(default_factory=dict)

  @classmethod
  def _number_fields(cls) -> List[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.type is int or f.type is float]

  @classmethod
  def array_length(cls, layout: ReportLayout) -> int:
    return len(cls._number_fields()) + len(layout.curriculum_names) + len(layout.measure_names)

  def to_array(self, layout: ReportLayout) -> np.ndarray:
    numbers = [getattr(self, f.name) for f in self._number_fields()]
    numbers += [self.curriculum.get(name, np.nan) for name in layout.curriculum_names]
    numbers += [self.eval_measure_sums.get(name, np.nan) for name in layout.measure_names]
    return np.array(numbers, dtype=np.float64)

  @classmethod
  def from_array(cls, array: np.ndarray, layout: ReportLayout) -> 'WorkerReport':
    array = np.ravel(array)
    fields = cls._number_fields()
    values = {f.name: int(v) if f.type is int else float(v) for f, v in zip(fields, array)}
    named = array[len(fields):]
    curriculum = named[:len(layout.curriculum_names)]
    measures = named[len(layout.curriculum_names):]
    return cls(**values,
               curriculum={n: float(v) for n, v in zip(layout.curriculum_names, curriculum)
                           if not np.isnan(v)},
               eval_measure_sums={n: float(v) for n, v in zip(layout.measure_names, measures)
                                  if not np.isnan(v)})


@dataclasses.dataclass
class IterationSummary:
  """The reports of all workers for one iteration, added up."""
  reports: List[WorkerReport]
  missing_workers: List[int]

  def _sum(self, name: str) -> float:
    return sum(getattr(r, name) for r in self.reports)

  @property
  def env_steps(self) -> int:
    return int(self._sum('env_steps'))

  def _mean(self, total: str, count: str):
    n = self._sum(count)
    return self._sum(total) / n if n else None

  @property
  def collect_return(self):
    return self._mean('collect_return_sum', 'collect_episodes')

  @property
  def collect_episode_length(self):
    return self._mean('collect_length_sum', 'collect_episodes')

  @property
  def eval_return(self):
    return self._mean('eval_return_sum', 'eval_episodes')

  @property
  def eval_episode_length(self):
    return self._mean('eval_length_sum', 'eval_episodes')

  @property
  def eval_measures(self) -> Dict[str, float]:
    """Each measure's mean over the iteration's eval episodes (empty without any)."""
    episodes = self._sum('eval_episodes')
    names = {name for r in self.reports for name in r.eval_measure_sums}
    return {name: sum(r.eval_measure_sums.get(name, 0.0) for r in self.reports) / episodes
            for name in sorted(names)} if episodes else {}

  @property
  def eval_policy_train_step(self) -> Optional[int]:
    """The train step of the policy the iteration's eval episodes ran, or None without any (or
    when workers evaluated different policies, e.g. around a replay server restart)."""
    steps = {r.policy_train_step for r in self.reports if r.eval_episodes}
    return steps.pop() if len(steps) == 1 else None

  @property
  def curriculum(self) -> Dict[str, float]:
    """The values the reporting workers' envs had (every worker applies the same ones)."""
    values = {}
    for report in self.reports:
      values.update(report.curriculum)
    return values


def is_eval_iteration(iteration: int, eval_period_itrs: int, num_iter: int) -> bool:
  """Whether the workers evaluate the policy of `iteration` (and the last iteration's)."""
  return iteration % eval_period_itrs == 0 or iteration == num_iter - 1
