"""The per-iteration RunTime/* breakdown the trainer writes (tfagents_system/trainer/iteration_timing.py)."""
import pytest

from tfagents_system.common import summary_tags
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.trainer import iteration_timing as timing


def test_overhead_is_what_the_iteration_took_beyond_the_busiest_program():
  trainer = {timing.BOOKKEEPING: 0.1, timing.PUBLISH: 0.05, timing.SGD: 1.0,
             timing.BARRIER_WAIT: 0.45}
  reports = [WorkerReport(0, 3, env_steps=100, collect_seconds=1.2, eval_seconds=0.2,
                          policy_pull_seconds=0.03, publication_wait_seconds=0.5),
             WorkerReport(1, 3, env_steps=100, collect_seconds=0.8, eval_seconds=0.0,
                          policy_pull_seconds=0.01, publication_wait_seconds=0.7)]
  scalars = timing.timing_scalars(trainer, IterationSummary(reports, []), sgd_steps=100)
  assert scalars[summary_tags.ITERATION_SECONDS] == pytest.approx(1.6)
  assert scalars[summary_tags.SGD_PHASE_STEPS_PER_SEC] == pytest.approx(100)
  # The slowest worker's phases; the mean worker's env steps/s; the workers side by side.
  assert scalars[summary_tags.WORKER_COLLECT_SECONDS] == 1.2
  assert scalars[summary_tags.WORKER_POLICY_PULL_SECONDS] == 0.03
  assert scalars[summary_tags.WORKER_PUBLICATION_WAIT_SECONDS] == 0.7
  assert scalars[summary_tags.WORKER_COLLECT_ENV_STEPS_PER_SEC] == pytest.approx((100 / 1.2 + 100 / 0.8) / 2)
  assert scalars[summary_tags.COLLECT_PHASE_ENV_STEPS_PER_SEC] == pytest.approx(200 / 1.2)
  # Busiest: worker 0's 1.4s of collect + eval, more than 1.1s of bookkeeping and SGD.
  assert scalars[summary_tags.WORKER_SIDE_SECONDS] == pytest.approx(1.4)
  assert scalars[summary_tags.SYNC_OVERHEAD_FRACTION] == pytest.approx((1.6 - 1.4) / 1.6)


def test_workers_that_take_turns_on_a_cpu_add_up_one_after_the_other():
  trainer = {timing.BOOKKEEPING: 0.0, timing.PUBLISH: 0.05, timing.SGD: 0.4,
             timing.BARRIER_WAIT: 0.5}
  # Worker 1 waited while worker 0 collected (0.3s) and evaluated (0.2s).
  reports = [WorkerReport(0, 3, env_steps=50, collect_seconds=0.3, eval_seconds=0.2),
             WorkerReport(1, 3, env_steps=50, collect_seconds=0.15, eval_seconds=0.2,
                          cpu_turn_wait_seconds=0.5)]
  scalars = timing.timing_scalars(trainer, IterationSummary(reports, []), sgd_steps=100)
  assert scalars[summary_tags.WORKER_CPU_TURN_WAIT_SECONDS] == 0.5
  assert scalars[summary_tags.WORKER_SIDE_SECONDS] == pytest.approx(0.85)
  assert scalars[summary_tags.COLLECT_PHASE_ENV_STEPS_PER_SEC] == pytest.approx(100 / 0.65)
  # The workers' side set the 0.95s iteration's pace, not the trainer's 0.4s of SGD.
  assert scalars[summary_tags.SYNC_OVERHEAD_FRACTION] == pytest.approx((0.95 - 0.85) / 0.95)


def test_no_worker_reported():
  trainer = {timing.BOOKKEEPING: 0.0, timing.PUBLISH: 0.1, timing.SGD: 1.0,
             timing.BARRIER_WAIT: 0.9}
  scalars = timing.timing_scalars(trainer, IterationSummary([], [0, 1]), sgd_steps=100)
  assert summary_tags.WORKER_COLLECT_SECONDS not in scalars
  assert scalars[summary_tags.SYNC_OVERHEAD_FRACTION] == pytest.approx(1.0 / 2.0)


def test_phase_clock_times_each_phase_since_the_last_lap(monkeypatch):
  now = iter([10.0, 10.5, 12.0])
  monkeypatch.setattr(timing.time, 'monotonic', lambda: next(now))
  clock = timing.PhaseClock()
  clock.lap(timing.PUBLISH)
  clock.lap(timing.SGD)
  assert clock.seconds == {timing.PUBLISH: 0.5, timing.SGD: 1.5}


def test_worker_reports_round_trip_with_their_timings_and_curriculum():
  layout = ReportLayout(('mass', 'friction'))
  report = WorkerReport(1, 7, env_steps=50, collect_seconds=0.1, eval_seconds=0.2,
                        policy_pull_seconds=0.003, publication_wait_seconds=0.9,
                        cpu_turn_wait_seconds=0.04, curriculum={'mass': 2.5})
  assert WorkerReport.from_array(report.to_array(layout), layout) == report


def pace(sgd, workers):
  return {summary_tags.SGD_SECONDS: sgd, summary_tags.WORKER_SIDE_SECONDS: workers,
          summary_tags.ITERATION_SECONDS: max(sgd, workers) + 0.1,
          summary_tags.SYNC_OVERHEAD_FRACTION: 0.05}


def test_the_bottleneck_is_the_side_that_sets_the_pace_and_says_what_to_change():
  trainer = timing.bottleneck(pace(sgd=0.8, workers=0.25))
  assert trainer.startswith('trainer-bound (SGD 0.80 s, workers 0.25 s of a 0.90 s '
                            'iteration, sync overhead 5%): ')
  assert 'SAC_TRAIN_CPUS' in trainer
  workers = timing.bottleneck(pace(sgd=0.3, workers=1.2))
  assert workers.startswith('collector-bound (SGD 0.30 s, workers 1.20 s')
  assert 'SAC_NUM_COLLECT_WORKERS' in workers
  assert timing.bottleneck(pace(sgd=0.5, workers=0.5)).startswith('balanced (')
  assert timing.bottleneck({summary_tags.SGD_SECONDS: 0.5}) is None  # no worker reported
