"""Benchmark 9: memory.

  peak RSS of each program (the kernel's high-water mark, VmHWM) as the last iteration of a
      run of the default example (N=2) runs                                     -> reported
  replay bytes per transition = the replay server program's RSS growth while it takes in
      episodes as workers write them (both experience tables, the feed emptied every
      FEED_READ_EPISODES as the trainer empties it every iteration) ÷ the transitions stored
      ÷ one transition's raw bytes, for the
      point-mass and the Minitaur examples' specs                              -> target ≤ 2

The episodes are the examples' specs filled with random values (what compresses least).
"""
import time

from bench import common
from bench import shared_runs

# Enough episodes that the stored data is tens of MiB, far above the RSS's noise.
EPISODES = {'point-mass': {True: 2000, False: 10000}, 'Minitaur': {False: 600}}
# The trainer empties the feed every iteration (the default example's brings 2 episodes); read
# in rounds of this many, the feed's share of the server's memory is as small as in a run.
FEED_READ_EPISODES = 50
EXAMPLES = {'point-mass': (common.BENCH_PARAMS, common.DEFAULT_CONFIG),
            'Minitaur': (common.MINITAUR_PARAMS, common.MINITAUR_CONFIG)}


def replay_bytes_per_transition(params_file: str, config_file: str, episodes: int):
  """(bytes per stored transition, raw bytes of a transition, transitions stored) of an
  example's episodes, measured on the replay server program itself, written to over gRPC from
  this process."""
  # pylint: disable=g-import-not-at-top  # TensorFlow only where it is needed
  import tensorflow as tf

  from tfagents_system.common import params_loading
  from tfagents_system.common import program_setup
  from tfagents_system.protocol import episode_items
  from tfagents_system.protocol import replay_tables
  from tfagents_system.protocol import trainer_side
  config = common.write_config(config_file, params={'n_episodes_in_buffer': episodes})
  params = params_loading.load_train_params(params_file, config)
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, _ = program_setup.create_agent(params, time_step_spec, action_spec)
  spec = agent.collect_data_spec
  raw_bytes = sum(s.dtype.size * s.shape.num_elements() for s in tf.nest.flatten(spec))

  with common.ReplayServerProgram(params_file, config) as server:
    connection = server.connection
    time.sleep(1)
    before = shared_runs.status_kib(server.process.pid, 'VmRSS')
    writer = episode_items.EpisodeWriter(
        connection, [replay_tables.EXPERIENCE_TABLE, replay_tables.FEED_TABLE], spec,
        episode_items.item_steps(params.episode_length), params.train_sequence_length)
    steps = common.random_episode(spec, params.episode_length)
    for written in range(0, episodes, FEED_READ_EPISODES):
      for _ in range(min(FEED_READ_EPISODES, episodes - written)):
        for step in steps:
          writer(step)
      writer.flush()
      feed = connection.table_size(replay_tables.FEED_TABLE)
      for _ in trainer_side.read_batches(server.address, replay_tables.FEED_TABLE, feed):
        pass
    writer.close()
    time.sleep(1)
    grown = (shared_runs.status_kib(server.process.pid, 'VmRSS') - before) * 1024
    stored = connection.table_size(replay_tables.EXPERIENCE_TABLE)
    transitions = stored * params.episode_length
    return grown / transitions, raw_bytes, transitions


def main(args):
  workers = int(common.default_variables()['SAC_NUM_COLLECT_WORKERS'])
  programs = list(shared_runs.default_example_run(workers, args.quick).peak_rss_mib.items())
  rows = [[f'peak RSS of {program} (VmHWM)', f'{mib:.0f} MiB', '', '']
          for program, mib in programs]
  for example in common.examples(args.quick):
    params_file, config_file = EXAMPLES[example]
    per_transition, raw, transitions = replay_bytes_per_transition(
        params_file, config_file, EPISODES[example][args.quick])
    ratio = per_transition / raw
    rows.append([f'replay server, {example}: RSS growth per stored transition '
                 f'({transitions} stored)', f'{per_transition:.0f} B',
                 f'{ratio:.2f} × the raw {raw} B', common.verdict(ratio, 2.0, at_least=False)])
  common.write_result(
      args.out, 'memory', 'Memory', ['measurement', 'value', 'ratio', 'target'], rows,
      draw_peaks(programs))


def draw_peaks(programs):
  def draw(axes):
    axes.bar([program for program, _ in programs], [mib for _, mib in programs])
    axes.set_ylabel('peak RSS (MiB)')
  return draw


if __name__ == '__main__':
  main(common.parse_args(__doc__))
