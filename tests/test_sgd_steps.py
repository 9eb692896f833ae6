"""The trainer's SGD steps: compiled before any data, once for all (trainer/sgd_steps.py)."""
import numpy as np
import tensorflow as tf

from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.protocol import episode_items
from tfagents_system.trainer import sgd_steps
from tfagents_system.trainer.trainer_replay import TrainerReplay


def test_the_trainer_compiles_its_sgd_loop_and_feed_before_any_data_once_for_all(tmp_path):
  """What compile_before_data traces and first calls is what the first SGD steps and feeds run
  (start-up time), one trace each for feeds of any number of episodes, and it changes no
  variable: the optimizers' are as a fresh optimizer's."""
  # pylint: disable=protected-access
  params = params_loading.load_train_params('tfagents_system/point_mass_params.py',
                                            'config/point_mass.json')
  agent, train_step = program_setup.create_agent(params, *program_setup.environment_specs(params))
  sac_learner = sgd_steps.make_learner(str(tmp_path), train_step, agent)
  replay = TrainerReplay(agent.collect_data_spec, params.train_sequence_length,
                         params.replay_capacity, params.train_batch_size)
  before = [v.numpy() for v in agent.variables]
  sgd_steps.compile_before_data(sac_learner, agent, replay, params.episode_length)
  # Its first calls of both, on an episode of zeros, left nothing behind.
  assert replay.size == 0 and int(train_step.numpy()) == 0
  critic_optimizer = agent._critic_optimizer
  assert int(critic_optimizer.iterations.numpy()) == 0
  critic_variables = (agent._critic_network_1.trainable_variables +
                      agent._critic_network_2.trainable_variables)
  for slot in critic_optimizer.get_slot_names():  # Adam's moments, as a fresh optimizer's
    for variable in critic_variables:
      assert not critic_optimizer.get_slot(variable, slot).numpy().any(), (slot, variable.name)
  for value, variable in zip(before, agent.variables):
    np.testing.assert_array_equal(value, variable.numpy(), err_msg=variable.name)
  traced = (sac_learner._train.experimental_get_tracing_count(),
            replay.add_episodes.experimental_get_tracing_count())

  steps = episode_items.item_steps(params.episode_length)
  episode = [tf.nest.map_structure(lambda spec: np.full(spec.shape, 0.5, spec.dtype.as_numpy_dtype),
                                   agent.collect_data_spec)] * steps
  for episodes in (3, 5):
    replay.add_episodes(np.stack([episode_items.pack(agent.collect_data_spec, episode, steps)]
                                 * episodes))
  assert replay.size == 8 * (steps - params.train_sequence_length + 1)
  sac_learner.run(iterations=2, iterator=replay,
                  parallel_iterations=sgd_steps.LEARNER_PARALLEL_ITERATIONS)
  assert int(train_step.numpy()) == 2
  assert (sac_learner._train.experimental_get_tracing_count(),
          replay.add_episodes.experimental_get_tracing_count()) == traced == (1, 1)
