"""The single-process baseline's replay (bench/single_process_sac.py), as tf-agents' own SAC
example builds it: a Reverb table in its process, holding the replay capacity in windows of
train_sequence_length steps, written by ReverbAddTrajectoryObserver, sampled through
ReverbReplayBuffer.as_dataset."""
import reverb
from tf_agents.replay_buffers import reverb_replay_buffer
from tf_agents.replay_buffers import reverb_utils
from tf_agents.specs import tensor_spec

TABLE = 'experience'

PREFETCH_BATCHES = 3  # as tf-agents' examples


class InProcessReplay:
  """The replay table in this process, with an observer writing into it."""

  def __init__(self, params, agent):
    self._params = params
    self._data_spec = agent.collect_data_spec
    self._server = reverb.Server([reverb.Table(
        TABLE, max_size=params.replay_capacity, sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(params.train_batch_size),
        signature=tensor_spec.add_outer_dim(tensor_spec.from_spec(agent.collect_data_spec),
                                            params.train_sequence_length))])
    self.address = f'localhost:{self._server.port}'
    self.observer = reverb_utils.ReverbAddTrajectoryObserver(
        reverb.Client(self.address), TABLE,
        sequence_length=params.train_sequence_length, stride_length=1)

  def tf_agents_dataset(self):
    params = self._params
    return reverb_replay_buffer.ReverbReplayBuffer(
        self._data_spec, sequence_length=params.train_sequence_length,
        table_name=TABLE, server_address=self.address).as_dataset(
            sample_batch_size=params.train_batch_size,
            num_steps=params.train_sequence_length).prefetch(PREFETCH_BATCHES)

  def stop(self) -> None:
    self.observer.close()
    self._server.stop()
