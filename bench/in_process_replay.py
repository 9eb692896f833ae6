"""A Reverb server with the system's tables for the baselines (bench/bare_loops.py,
bench/single_process_sac.py): in their process, or in one of its own.

  python -m bench.in_process_replay --port P   # serves the tables until killed
"""
import argparse

import reverb
from tf_agents.replay_buffers import reverb_replay_buffer
from tf_agents.replay_buffers import reverb_utils

from tfagents_system import iteration_sync


def system_tables(params, agent, train_step):
  """The replay server's tables: the experience table has uniform sampling, FIFO removal and
  the same capacity as in the system."""
  return iteration_sync.make_tables(
      agent.collect_data_spec, params.train_sequence_length,
      iteration_sync.synced_variables(agent.collect_policy.variables(), train_step),
      capacity=params.replay_capacity, min_size_to_sample=params.train_batch_size)


class InProcessReplay:
  """The system's tables in this process (or, given `address`, a server already serving
  them), with an observer writing into them as the system's workers do."""

  def __init__(self, params, agent, train_step, address=None):
    self._params = params
    self._data_spec = agent.collect_data_spec
    self._server = None
    if address is None:
      self._server = reverb.Server(system_tables(params, agent, train_step))
      address = f'localhost:{self._server.port}'
    self.address = address
    self.observer = reverb_utils.ReverbAddTrajectoryObserver(
        iteration_sync.wait_for_server(address), iteration_sync.EXPERIENCE_TABLE,
        sequence_length=params.train_sequence_length, stride_length=1)

  def tf_agents_dataset(self):
    """Batches as tf-agents' own examples sample them: ReverbReplayBuffer.as_dataset."""
    params = self._params
    return reverb_replay_buffer.ReverbReplayBuffer(
        self._data_spec, sequence_length=params.train_sequence_length,
        table_name=iteration_sync.EXPERIENCE_TABLE, server_address=self.address).as_dataset(
            sample_batch_size=params.train_batch_size,
            num_steps=params.train_sequence_length).prefetch(params.prefetch_batches)

  def system_dataset(self):
    """Batches as the system's trainer samples them."""
    return iteration_sync.experience_dataset(self.address, self._params.train_batch_size,
                                             self._params.prefetch_batches)

  def stop(self) -> None:
    self.observer.close()
    if self._server:
      self._server.stop()


def main():
  # pylint: disable=g-import-not-at-top
  from bench import common
  from tfagents_system import params_loading
  from tfagents_system import program_setup
  # pylint: enable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--port', type=int, required=True)
  args = parser.parse_args()
  program_setup.size_thread_pools_to_cpus()
  params = params_loading.load_train_params(common.BENCH_PARAMS, common.DEFAULT_CONFIG)
  agent, train_step = program_setup.create_agent(params, *program_setup.environment_specs(params))
  reverb.Server(system_tables(params, agent, train_step), port=args.port).wait()


if __name__ == '__main__':
  main()
