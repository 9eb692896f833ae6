"""The trainer's checkpoints keep the optimizers' state across restarts: a real SAC agent and
tf-agents Learner built as sac_train builds them."""
import os

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.policies import policy_saver
from tf_agents.specs import tensor_spec

from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.tools import policy_evaluation
from tfagents_system.trainer import sgd_steps
from tfagents_system.trainer.checkpoint_trigger import CheckpointTrigger
from tfagents_system.trainer.trainer_checkpoints import TrainerCheckpoints
from tfagents_system.trainer.trainer_replay import TrainerReplay
from tfagents_system.trainer.trainer_stop import TrainerStop
from tfagents_system.trainer.training_progress import TrainingProgress

PARAMS = 'tfagents_system/point_mass_params.py'
CONFIG = 'config/point_mass.json'


@pytest.fixture(scope='module')
def params():
  return params_loading.load_train_params(PARAMS, CONFIG)


class Trainer:
  """What a (re)started sac_train builds: agent, Learner, checkpoints restored from the dir."""

  def __init__(self, params, root):
    time_step_spec, action_spec = program_setup.environment_specs(params)
    self.agent, self.train_step = program_setup.create_agent(params, time_step_spec, action_spec)
    experiment = ExperimentDir(str(root))
    self.learner = sgd_steps.make_learner(experiment.root, self.train_step, self.agent)
    # Its pre-trace creates the optimizers' variables, before the checkpoint is restored.
    replay = TrainerReplay(self.agent.collect_data_spec, params.train_sequence_length,
                           params.replay_capacity, params.train_batch_size)
    sgd_steps.compile_before_data(self.learner, self.agent, replay, params.episode_length)
    self.checkpoints = TrainerCheckpoints(experiment, self.learner, self.agent,
                                          lambda: 'no replay in this test')
    shape = (params.train_batch_size, params.train_sequence_length)
    batch = tensor_spec.sample_spec_nest(self.agent.collect_data_spec, outer_dims=shape)
    self._batch = batch._replace(  # finite values for the unbounded specs
        reward=tf.random.uniform(shape, -3.0, 0.0),
        observation=tf.random.uniform(shape + tuple(batch.observation.shape[2:]), -1.0, 1.0))

  def train(self, steps):
    self.learner.run(iterations=steps, iterator=iter(lambda: self._batch, None))

  def critic_optimizer_steps(self):
    return int(self.agent._critic_optimizer.iterations.numpy())  # pylint: disable=protected-access

  def critic_optimizer_values(self):
    return {v.name: v.numpy() for v in self.agent._critic_optimizer.variables()}  # pylint: disable=protected-access


def test_a_restarted_trainer_goes_on_with_the_optimizer_state_it_saved(params, tmp_path):
  trainer = Trainer(params, tmp_path)
  trainer.train(5)
  trainer.checkpoints.save()
  restarted = Trainer(params, tmp_path)
  assert int(restarted.train_step.numpy()) == 5
  saved = trainer.critic_optimizer_values()
  restored = restarted.critic_optimizer_values()
  assert restored.keys() == saved.keys() and len(saved) > 1  # the step count, Adam's moments
  for name, value in saved.items():
    np.testing.assert_array_equal(restored[name], value, err_msg=name)
  restarted.train(1)
  assert restarted.critic_optimizer_steps() == 6  # a fresh optimizer would be at 1


def test_the_policy_exported_while_the_trainer_trains_loads_its_policy_checkpoints(params,
                                                                                   tmp_path):
  trainer = Trainer(params, tmp_path)
  experiment = ExperimentDir(str(tmp_path))
  trainer.train(1)
  trainer.checkpoints.start_policy_export()  # as sac_train does once it restored its checkpoint
  trainer.train(5)
  # An evaluated iteration's policy checkpoint does not wait for the SavedModels (seconds of
  # export; the greedy one is written last).
  trainer.checkpoints.save_policy()
  assert experiment.policy_checkpoint_at(6)
  assert not os.path.exists(os.path.join(experiment.greedy_policy_dir,
                                         policy_saver.POLICY_SPECS_PBTXT))
  at_step_6 = {v.name: v.numpy() for v in trainer.agent.policy.variables()}
  trainer.train(2)
  trainer.checkpoints.save()
  trainer.checkpoints.finish_policy_export()  # as the trainer does before it exits
  at_step_8 = {v.name: v.numpy() for v in trainer.agent.policy.variables()}
  # What run.py evaluates: the greedy SavedModel with a policy checkpoint's variables.
  assert policy_evaluation.checkpoint_train_step(
      policy_evaluation.policy_checkpoint(experiment, 'latest')) == 8
  for step, trained in ((8, at_step_8), (6, at_step_6)):
    checkpoint = experiment.policy_checkpoint_at(step)
    policy = policy_evaluation.load_greedy_policy(experiment)
    policy.update_from_checkpoint(checkpoint)
    loaded = {v.name: v.numpy() for v in policy.variables()}
    assert loaded.keys() == trained.keys() and loaded
    for name, value in trained.items():
      np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_checkpoints_are_taken_each_period_and_when_forced_unless_just_taken(params, tmp_path):
  trainer = Trainer(params, tmp_path)
  experiment = ExperimentDir(str(tmp_path))
  progress = TrainingProgress(experiment, num_iter=10, log_period_itrs=1,
                              train_writer=tf.summary.create_file_writer(experiment.train_dir),
                              alpha=None, worker_report_timeout_s=60)
  checkpoint = CheckpointTrigger(trainer.checkpoints, progress,
                                 TrainerStop(experiment, progress, trainer.train_step),
                                 period_steps=3, train_step=trainer.train_step,
                                 replay_episodes=lambda: 9)

  def saved_steps():
    return sorted(int(path.rsplit('-', 1)[1].split('.')[0]) for path in
                  tf.io.gfile.glob(f'{experiment.trainer_checkpoints_dir}/ckpt-*.index'))

  trainer.train(2)
  checkpoint()
  assert saved_steps() == []
  trainer.train(1)
  checkpoint()
  assert saved_steps() == [3]
  assert experiment.read_status()['checkpoint'] == {'train_step': 3, 'replay_episodes': 9}
  checkpoint(force=True)
  assert saved_steps() == [3]
  trainer.train(1)
  checkpoint(force=True)
  assert saved_steps() == [3, 4]
  assert experiment.read_status()['checkpoint']['train_step'] == 4
