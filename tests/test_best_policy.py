"""The run's best policy: of the evaluated policies with a checkpoint, the one whose evaluation
scored highest on the curriculum values evaluated on now; run.py finds it as --checkpoint best."""
import os

import pytest
import tensorflow as tf
from tf_agents.policies import policy_saver

from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.tools import policy_evaluation
from tfagents_system.trainer.best_policy import BestPolicy
from tfagents_system.trainer.training_progress import TrainingProgress


@pytest.fixture
def experiment(tmp_path):
  return ExperimentDir(str(tmp_path))


def trainer_records(experiment, score_name):
  progress = TrainingProgress(experiment, num_iter=100, log_period_itrs=1,
                              train_writer=tf.summary.create_file_writer(experiment.train_dir),
                              alpha=None, worker_report_timeout_s=60)
  return progress, BestPolicy(experiment, progress, score_name)


def policy_checkpoint(experiment, train_step):
  """What a complete policy checkpoint leaves on disk (TensorFlow writes the index last)."""
  path = os.path.join(experiment.policy_checkpoints_dir, 'policy_checkpoint_%010d' % train_step)
  os.makedirs(os.path.join(path, 'variables'))
  open(os.path.join(path, 'variables', 'variables.index'), 'w').close()
  return path


def greedy_saved_model(experiment):
  """What the trainer's export of the greedy SavedModel leaves on disk last."""
  os.makedirs(experiment.greedy_policy_dir)
  open(os.path.join(experiment.greedy_policy_dir, policy_saver.POLICY_SPECS_PBTXT), 'w').close()


def evaluation(train_step, eval_return, distance, mass=1.0):
  """Two workers' reports of an iteration that evaluated the policy of `train_step`."""
  return IterationSummary([
      WorkerReport(w, 0, eval_episodes=2, eval_return_sum=2 * eval_return,
                   eval_measure_sums={'forward_distance_m': 2 * distance},
                   curriculum={'mass': mass}, policy_train_step=train_step)
      for w in range(2)], [])


def test_the_best_is_the_highest_score_on_the_current_curriculum_values(experiment):
  progress, best = trainer_records(experiment, 'forward_distance_m')
  for step in (1000, 2000, 3000, 4000):
    policy_checkpoint(experiment, step)
  best.consider(10, evaluation(1000, eval_return=5.0, distance=1.5))
  best.consider(20, evaluation(2000, eval_return=9.0, distance=0.5))  # by the return, better
  assert experiment.read_status()['best_policy'] == {
      'checkpoint': 'policy_checkpoint_0000001000', 'train_step': 1000, 'iteration': 10,
      'score_name': 'forward_distance_m', 'score': 1.5, 'curriculum': {'mass': 1.0}}
  # New physics: the scores before do not compare, its first evaluation is the best on them.
  best.consider(30, evaluation(3000, eval_return=1.0, distance=0.25, mass=1.3))
  assert progress.best_policy['checkpoint'] == 'policy_checkpoint_0000003000'
  best.consider(40, evaluation(4000, eval_return=1.0, distance=0.75, mass=1.3))
  assert progress.best_policy['checkpoint'] == 'policy_checkpoint_0000004000'
  greedy_saved_model(experiment)
  assert policy_evaluation.policy_checkpoint(experiment, 'best') == os.path.join(
      experiment.policy_checkpoints_dir, 'policy_checkpoint_0000004000')


def test_a_checkpoint_taken_before_the_policy_savedmodels_are_exported_says_so(experiment):
  policy_checkpoint(experiment, 1000)
  with pytest.raises(policy_evaluation.CheckpointNotFound,
                     match='^no greedy policy SavedModel in .*/policies/greedy_policy yet'):
    policy_evaluation.policy_checkpoint(experiment, 'latest')
  greedy_saved_model(experiment)
  assert policy_evaluation.policy_checkpoint(experiment, 'latest').endswith('_0000001000')


def test_the_eval_return_is_the_default_score(experiment):
  progress, best = trainer_records(experiment, 'eval_return')
  policy_checkpoint(experiment, 1000)
  policy_checkpoint(experiment, 2000)
  best.consider(10, evaluation(1000, eval_return=5.0, distance=1.5))
  best.consider(20, evaluation(2000, eval_return=9.0, distance=0.5))
  assert progress.best_policy['checkpoint'] == 'policy_checkpoint_0000002000'
  assert progress.best_policy['score'] == 9.0


def test_only_evaluated_policies_with_a_complete_checkpoint_count(experiment):
  progress, best = trainer_records(experiment, 'eval_return')
  best.consider(10, evaluation(1000, eval_return=5.0, distance=0))  # no checkpoint of step 1000
  incomplete = os.path.join(experiment.policy_checkpoints_dir, 'policy_checkpoint_0000002000')
  os.makedirs(os.path.join(incomplete, 'variables'))  # a save that failed: no index
  best.consider(20, evaluation(2000, eval_return=5.0, distance=0))
  policy_checkpoint(experiment, 3000)
  best.consider(21, IterationSummary([WorkerReport(0, 21, policy_train_step=3000)], []))
  assert progress.best_policy is None
  with pytest.raises(policy_evaluation.CheckpointNotFound, match='no best policy yet in'):
    policy_evaluation.policy_checkpoint(experiment, 'best')


def test_a_restarted_trainer_keeps_the_best_so_far(experiment):
  _, best = trainer_records(experiment, 'eval_return')
  policy_checkpoint(experiment, 1000)
  policy_checkpoint(experiment, 2000)
  best.consider(10, evaluation(1000, eval_return=5.0, distance=0))
  restarted, best = trainer_records(experiment, 'eval_return')
  best.consider(20, evaluation(2000, eval_return=4.0, distance=0))
  assert restarted.best_policy['checkpoint'] == 'policy_checkpoint_0000001000'
