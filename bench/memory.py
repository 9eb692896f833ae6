"""Benchmark 9: memory.

  peak RSS of each program (the kernel's high-water mark, VmHWM) at the end of a run of the
      default example (N=2)                                                     -> reported
  replay bytes per transition = the replay server program's RSS growth while it takes in
      episodes as workers write them (both experience tables, the feed then drained as the
      trainer drains it) ÷ the transitions stored ÷ one transition's raw bytes, for the
      point-mass and the Minitaur examples' specs                              -> target ≤ 2

The episodes are the examples' specs filled with random values (what compresses least).
"""
import time

from bench import common

NUM_ITER = {True: 5, False: 20}
# Enough episodes that the stored data is tens of MiB, far above the RSS's noise.
EPISODES = {'point-mass': {True: 2000, False: 10000}, 'Minitaur': {True: 100, False: 600}}
EXAMPLES = {'point-mass': (common.BENCH_PARAMS, common.DEFAULT_CONFIG),
            'Minitaur': (common.MINITAUR_PARAMS, common.MINITAUR_CONFIG)}


def status_kib(pid: int, field: str) -> int:
  with open(f'/proc/{pid}/status') as f:
    for line in f:
      if line.startswith(field + ':'):
        return int(line.split()[1])
  raise KeyError(field)


def peak_rss_of_programs(num_iter: int):
  """[(program, peak RSS in MiB)] of a run of the default example, read as it finishes."""
  with common.SystemRun('memory', workers=2, num_iter=num_iter) as run:
    run.wait_for(lambda status: status.get('iteration', 0) >= num_iter - 1)
    programs = ['sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1']
    return [(program, status_kib(run.program_pid(program), 'VmHWM') / 1024)
            for program in programs]


def replay_bytes_per_transition(params_file: str, config_file: str, episodes: int):
  """(bytes per stored transition, raw bytes of a transition, transitions stored) of an
  example's episodes, measured on the replay server program itself, written to over gRPC from
  this process."""
  # pylint: disable=g-import-not-at-top  # TensorFlow only where it is needed
  import tensorflow as tf

  from tfagents_system import episode_items
  from tfagents_system import iteration_sync
  from tfagents_system import params_loading
  from tfagents_system import program_setup
  config = common.write_config(config_file, params={'n_episodes_in_buffer': episodes})
  params = params_loading.load_train_params(params_file, config)
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, _ = program_setup.create_agent(params, time_step_spec, action_spec)
  spec = agent.collect_data_spec
  raw_bytes = sum(s.dtype.size * s.shape.num_elements() for s in tf.nest.flatten(spec))

  with common.ReplayServerProgram(params_file, config) as server:
    client = server.client
    time.sleep(1)
    before = status_kib(server.process.pid, 'VmRSS')
    writer = episode_items.EpisodeWriter(
        client, [iteration_sync.EXPERIENCE_TABLE, iteration_sync.FEED_TABLE], spec,
        episode_items.item_steps(params.episode_length), params.train_sequence_length)
    steps = common.random_episode(spec, params.episode_length)
    for _ in range(episodes):
      for step in steps:
        writer(step)
    writer.flush()
    writer.close()
    feed = client.server_info()[iteration_sync.FEED_TABLE].current_size
    for _ in iteration_sync.read_batches(server.address, iteration_sync.FEED_TABLE, feed):
      pass
    time.sleep(1)
    grown = (status_kib(server.process.pid, 'VmRSS') - before) * 1024
    stored = client.server_info()[iteration_sync.EXPERIENCE_TABLE].current_size
    transitions = stored * params.episode_length
    return grown / transitions, raw_bytes, transitions


def main():
  args = common.parse_args(__doc__)
  programs = peak_rss_of_programs(NUM_ITER[args.quick])
  rows = [[f'peak RSS of {program} (VmHWM)', f'{mib:.0f} MiB', '', '']
          for program, mib in programs]
  for example, (params_file, config_file) in EXAMPLES.items():
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
  main()
