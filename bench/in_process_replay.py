"""The single-process baseline's replay (bench/single_process_sac.py): a Reverb server in its
process with the system's tables, written as the system's workers write, sampled as tf-agents'
own examples sample (ReverbReplayBuffer.as_dataset)."""
import reverb
from tf_agents.replay_buffers import reverb_replay_buffer
from tf_agents.replay_buffers import reverb_utils

from tfagents_system import iteration_sync

PREFETCH_BATCHES = 3  # as tf-agents' examples


class InProcessReplay:
  """The system's tables in this process, with an observer writing into them."""

  def __init__(self, params, agent, train_step):
    self._params = params
    self._data_spec = agent.collect_data_spec
    self._server = reverb.Server(iteration_sync.make_tables(
        agent.collect_data_spec, params.train_sequence_length,
        iteration_sync.synced_variables(agent.collect_policy.variables(), train_step),
        capacity=params.replay_capacity, min_size_to_sample=params.train_batch_size,
        curriculum_names=[]))
    self.address = f'localhost:{self._server.port}'
    self.observer = reverb_utils.ReverbAddTrajectoryObserver(
        reverb.Client(self.address), iteration_sync.EXPERIENCE_TABLE,
        sequence_length=params.train_sequence_length, stride_length=1)

  def tf_agents_dataset(self):
    params = self._params
    return reverb_replay_buffer.ReverbReplayBuffer(
        self._data_spec, sequence_length=params.train_sequence_length,
        table_name=iteration_sync.EXPERIENCE_TABLE, server_address=self.address).as_dataset(
            sample_batch_size=params.train_batch_size,
            num_steps=params.train_sequence_length).prefetch(PREFETCH_BATCHES)

  def stop(self) -> None:
    self.observer.close()
    self._server.stop()
