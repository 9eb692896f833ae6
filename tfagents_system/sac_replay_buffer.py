"""The Reverb replay server of a run: experience, policy variables, sync tables.

It knows only its experiment dir and port: its tables are made from the run spec the launcher's
checks wrote (replay_tables.py), so it starts without TrainParams, envs, an agent or tf-agents.
"""
from absl import app
from absl import flags
from absl import logging
import reverb

from tfagents_system.common import experiment_dir
from tfagents_system.common import supervised_program
from tfagents_system.protocol import replay_tables

flags.DEFINE_integer('port', None, 'Port the Reverb server listens on.')
FLAGS = flags.FLAGS


def main(_):
  supervised_program.start('replay buffer')
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  specs = replay_tables.TableSpecs.from_run_spec(experiment.read_run_spec())
  # Loads the latest checkpoint in that dir on start: a restarted server has the
  # replay data of the trainer's last checkpoint, not an empty buffer.
  checkpointer = reverb.checkpointers.DefaultCheckpointer(experiment.replay_checkpoints_dir)
  server = reverb.Server(replay_tables.make_tables(specs), port=FLAGS.port,
                         checkpointer=checkpointer)
  client = server.localhost_client()
  # A reloaded publication and reports are stale: workers wait for the trainer's next one.
  for table in (replay_tables.ITERATION_TABLE, replay_tables.REPORT_TABLE):
    client.reset(table)
  loaded = client.server_info()[replay_tables.EXPERIENCE_TABLE].current_size
  logging.info('Reverb server listening on port %d; episodes in the replay buffer after loading '
               'the latest checkpoint: %d (capacity %d)', FLAGS.port, loaded,
               specs.capacity_episodes)
  server.wait()


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'port'])
  app.run(main)
