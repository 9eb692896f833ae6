"""What both sides of the iteration protocol share: a worker's report crosses the replay server as
an array, and the trainer adds up an iteration's reports. The sides themselves:
test_trainer_side.py, test_worker_side.py."""
from tfagents_system.protocol import iteration_sync


def test_a_report_crosses_as_an_array_with_its_curriculum_values_and_eval_measures():
  layout = iteration_sync.ReportLayout(('mass', 'friction'), ('forward_distance_m', 'drift_m'))
  report = iteration_sync.WorkerReport(1, 4, env_steps=60, collect_episodes=2,
                                       collect_return_sum=-3.5, publication=1_700_000_000_123_456,
                                       eval_episodes=2, curriculum={'mass': 1.5},
                                       policy_train_step=4000,
                                       eval_measure_sums={'forward_distance_m': 2.5,
                                                          'drift_m': 0.25})
  array = report.to_array(layout)
  assert array.shape == (iteration_sync.WorkerReport.array_length(layout),)
  assert iteration_sync.WorkerReport.from_array(array, layout) == report
  # Without an evaluation, it carries no measures.
  plain = iteration_sync.WorkerReport(0, 5, curriculum={'friction': 0.5})
  assert iteration_sync.WorkerReport.from_array(plain.to_array(layout), layout) == plain


def test_a_summary_adds_up_the_reports_and_has_no_mean_without_episodes():
  reports = [iteration_sync.WorkerReport(0, 2, env_steps=30, collect_episodes=1,
                                         collect_return_sum=-4.0, collect_length_sum=30,
                                         curriculum={'mass': 2.0}),
             iteration_sync.WorkerReport(1, 2, env_steps=50, collect_episodes=3,
                                         collect_return_sum=-8.0, collect_length_sum=50,
                                         curriculum={'mass': 2.0})]
  summary = iteration_sync.IterationSummary(reports, missing_workers=[2])
  assert summary.env_steps == 80
  assert summary.collect_return == -3.0 and summary.collect_episode_length == 20.0
  assert summary.eval_return is None and summary.eval_episode_length is None
  assert summary.curriculum == {'mass': 2.0}
  assert summary.eval_measures == {}


def test_a_summary_averages_the_eval_measures_over_all_eval_episodes():
  reports = [iteration_sync.WorkerReport(0, 10, eval_episodes=1, eval_return_sum=1.0,
                                         eval_measure_sums={'forward_distance_m': 1.5}),
             iteration_sync.WorkerReport(1, 10, eval_episodes=3, eval_return_sum=2.0,
                                         eval_measure_sums={'forward_distance_m': 2.5})]
  summary = iteration_sync.IterationSummary(reports, missing_workers=[])
  assert summary.eval_return == 0.75
  assert summary.eval_measures == {'forward_distance_m': 1.0}


def test_eval_iterations_are_every_period_and_the_last():
  assert [k for k in range(12) if iteration_sync.is_eval_iteration(k, 5, 12)] == [0, 5, 10, 11]
  assert [k for k in range(10) if iteration_sync.is_eval_iteration(k, 5, 10)] == [0, 5, 9]


def test_a_summary_names_the_policy_evaluated_only_when_every_evaluating_worker_ran_the_same():
  def report(worker, policy_train_step, eval_episodes=1):
    return iteration_sync.WorkerReport(worker, 10, eval_episodes=eval_episodes,
                                       policy_train_step=policy_train_step)

  assert iteration_sync.IterationSummary(
      [report(0, 1000), report(1, 1000)], []).eval_policy_train_step == 1000
  # A worker that did not evaluate (its share of the eval episodes is 0) does not count.
  assert iteration_sync.IterationSummary(
      [report(0, 1000), report(1, 0, eval_episodes=0)], []).eval_policy_train_step == 1000
  assert iteration_sync.IterationSummary(
      [report(0, 1000), report(1, 1500)], []).eval_policy_train_step is None
  assert iteration_sync.IterationSummary(
      [report(0, 1000, eval_episodes=0)], []).eval_policy_train_step is None
