"""The Reverb replay server of a run: experience, policy variables, sync tables."""
from absl import app
from absl import flags
from absl import logging
import reverb

from tfagents_system import episode_items
from tfagents_system import experiment_dir
from tfagents_system import iteration_sync
from tfagents_system import program_setup
from tfagents_system.curriculum import Curriculum

flags.DEFINE_integer('port', None, 'Port the Reverb server listens on.')
FLAGS = flags.FLAGS


def main(_):
  params = program_setup.start_program('replay buffer')
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  tables = iteration_sync.make_tables(
      episode_items.item_signature(agent.collect_data_spec,
                                   episode_items.item_steps(params.episode_length)),
      params.n_episodes_in_buffer,
      iteration_sync.synced_variables(agent.collect_policy.variables(), train_step),
      curriculum_names=Curriculum.from_env_config(params.env_config).names)
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  # Loads the latest checkpoint in that dir on start: a restarted server has the
  # replay data of the trainer's last checkpoint, not an empty buffer.
  checkpointer = reverb.checkpointers.DefaultCheckpointer(experiment.replay_checkpoints_dir)
  server = reverb.Server(tables, port=FLAGS.port, checkpointer=checkpointer)
  client = server.localhost_client()
  # A reloaded publication and reports are stale: workers wait for the trainer's next one.
  for table in (iteration_sync.ITERATION_TABLE, iteration_sync.REPORT_TABLE):
    client.reset(table)
  loaded = client.server_info()[iteration_sync.EXPERIENCE_TABLE].current_size
  logging.info('Reverb server listening on port %d; episodes in the replay buffer after loading '
               'the latest checkpoint: %d (capacity %d)', FLAGS.port, loaded,
               params.n_episodes_in_buffer)
  server.wait()


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'port'])
  app.run(main)
