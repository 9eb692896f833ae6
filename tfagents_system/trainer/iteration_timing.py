"""Where an iteration's wall time goes, as RunTime/* summaries: the trainer's phases, the
workers' phases (from their reports), and the share the iteration barrier costs.

The trainer's iteration: publishing the policy, bookkeeping (the previous iteration's
summaries, status.json and checkpoint), SGD, then waiting at the barrier for the workers'
reports. Meanwhile each worker waits for the publication, pulls the policy, collects and
evaluates; workers that share CPUs take turns at collecting and evaluating (common/cpu_turns.py).
Without any synchronization cost an iteration would last max(bookkeeping + SGD, the workers'
side: the busiest worker's turn wait + collect + eval); the rest is the sync overhead: publishing
and pulling the policy, reporting, and the latency of noticing a publication or a report.
"""
import time
from typing import TYPE_CHECKING, Dict, Optional

from tfagents_system.common import summary_tags as tags

if TYPE_CHECKING:  # the launcher reads bottleneck() through status.py without TensorFlow
  from tfagents_system.protocol.iteration_sync import IterationSummary

# The trainer's SGD and the workers' side within this factor of each other set the pace together.
BALANCED_WITHIN = 1.15

# The trainer's phases, in the order they happen in an iteration.
PUBLISH, BOOKKEEPING, SGD, BARRIER_WAIT = 'publish', 'bookkeeping', 'sgd', 'barrier_wait'
_PHASE_TAGS = {BOOKKEEPING: tags.BOOKKEEPING_SECONDS, PUBLISH: tags.PUBLISH_SECONDS,
               SGD: tags.SGD_SECONDS, BARRIER_WAIT: tags.BARRIER_WAIT_SECONDS}


class PhaseClock:
  """Seconds spent in each phase, each lap ending the phase that was running."""

  def __init__(self):
    self._last = time.monotonic()
    self.seconds: Dict[str, float] = {}

  def lap(self, phase: str) -> None:
    now = time.monotonic()
    self.seconds[phase] = now - self._last
    self._last = now


def timing_scalars(trainer_seconds: Dict[str, float], summary: 'IterationSummary',
                   sgd_steps: int) -> Dict[str, float]:
  """The RunTime/* breakdown of one iteration; worker phases are the slowest worker's, the
  env steps/s of one worker their mean."""
  scalars = {_PHASE_TAGS[phase]: seconds for phase, seconds in trainer_seconds.items()}
  iteration_seconds = sum(trainer_seconds.values())
  scalars[tags.ITERATION_SECONDS] = iteration_seconds
  scalars[tags.SGD_PHASE_STEPS_PER_SEC] = sgd_steps / trainer_seconds[SGD]
  reports = summary.reports
  busiest_worker = 0.0
  if reports:
    for tag, field in ((tags.WORKER_PUBLICATION_WAIT_SECONDS, 'publication_wait_seconds'),
                       (tags.WORKER_POLICY_PULL_SECONDS, 'policy_pull_seconds'),
                       (tags.WORKER_COLLECT_SECONDS, 'collect_seconds'),
                       (tags.WORKER_EVAL_SECONDS, 'eval_seconds'),
                       (tags.WORKER_CPU_TURN_WAIT_SECONDS, 'cpu_turn_wait_seconds')):
      scalars[tag] = max(getattr(r, field) for r in reports)
    collecting = [r for r in reports if r.collect_seconds > 0]
    if collecting:
      scalars[tags.WORKER_COLLECT_ENV_STEPS_PER_SEC] = sum(
          r.env_steps / r.collect_seconds for r in collecting) / len(collecting)
      # All their steps in the time the last one was done collecting: side by side, or one
      # after the other on shared CPUs (in an iteration that evaluates, a turn wait includes the
      # evaluations of those that went first).
      scalars[tags.COLLECT_PHASE_ENV_STEPS_PER_SEC] = (
          sum(r.env_steps for r in collecting) /
          max(r.cpu_turn_wait_seconds + r.collect_seconds for r in collecting))
    busiest_worker = max(r.cpu_turn_wait_seconds + r.collect_seconds + r.eval_seconds
                         for r in reports)
    scalars[tags.WORKER_SIDE_SECONDS] = busiest_worker
  useful = max(trainer_seconds.get(BOOKKEEPING, 0.0) + trainer_seconds[SGD], busiest_worker)
  scalars[tags.SYNC_OVERHEAD_FRACTION] = max(0.0, iteration_seconds - useful) / iteration_seconds
  return scalars


def bottleneck(timing: Dict[str, float]) -> Optional[str]:
  """Which side set the pace of an iteration, from its RunTime/* breakdown, and what would
  speed it up; None without worker timings (no report yet)."""
  if tags.WORKER_SIDE_SECONDS not in timing:
    return None
  sgd = timing[tags.SGD_SECONDS]
  workers = timing[tags.WORKER_SIDE_SECONDS]
  overhead = timing.get(tags.SYNC_OVERHEAD_FRACTION, 0.0)
  pace = (f'SGD {sgd:.2f} s, workers {workers:.2f} s of a '
          f'{timing[tags.ITERATION_SECONDS]:.2f} s iteration, sync overhead {100 * overhead:.0f}%')
  if sgd > BALANCED_WITHIN * workers:
    return (f'trainer-bound ({pace}): give the trainer more CPUs (SAC_TRAIN_CPUS) or collect '
            'more per SGD step (more n_train_episodes_per_iter, fewer num_steps_per_iter); more '
            'workers would only wait longer')
  if workers > BALANCED_WITHIN * sgd:
    return (f'collector-bound ({pace}): add workers (SAC_NUM_COLLECT_WORKERS) where CPUs are '
            'free, give each more (SAC_COLLECT_WORKER_CPUS), or evaluate less '
            '(n_eval_episodes, eval_period_itrs)')
  return f'balanced ({pace})'
