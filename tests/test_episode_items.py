"""Episodes as Reverb items (protocol/episode_items.py): written by EpisodeWriter into a real
Reverb table as workers write them, read back and cut into windows as the trainer's replay takes
them in; every field back bit for bit."""
import collections

import numpy as np
import reverb
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from tfagents_system.protocol import episode_items
from tfagents_system.trainer.trainer_replay import TrainerReplay

Step = collections.namedtuple('Step', ['observation', 'step', 'step_type'])
DATA_SPEC = Step(tf.TensorSpec([3], tf.float32), tf.TensorSpec([], tf.int64),
                 tf.TensorSpec([], tf.int32))


def episode(first_step, length):
  """The trajectories an actor observes for an episode of `length` env steps: FIRST, MID...,
  then the LAST one that leads to the next episode."""
  step_types = [ts.StepType.FIRST] + [ts.StepType.MID] * (length - 1) + [ts.StepType.LAST]
  return [Step(np.full([3], first_step + i, np.float32), np.int64(first_step + i),
               np.int32(step_type)) for i, step_type in enumerate(step_types)]


def written_and_read(episodes, episode_length, sequence_length):
  """The episodes through EpisodeWriter into a Reverb table, then into a TrainerReplay:
  the `step` pairs of every window it holds, and how many items the table got."""
  steps = episode_items.item_steps(episode_length)
  signature = episode_items.item_signature(DATA_SPEC, steps)
  server = reverb.Server([reverb.Table('experience', reverb.selectors.Fifo(),
                                       reverb.selectors.Fifo(), 1000,
                                       reverb.rate_limiters.MinSize(1), max_times_sampled=1,
                                       signature=signature)])
  try:
    client = reverb.Client(f'localhost:{server.port}')
    writer = episode_items.EpisodeWriter(client, ['experience'], DATA_SPEC, steps,
                                         sequence_length)
    for trajectories in episodes:
      for trajectory in trajectories:
        writer(trajectory)
    writer.flush()
    count = client.server_info()['experience'].current_size
    replay = TrainerReplay(DATA_SPEC, sequence_length, capacity=1000, batch_size=1)
    for batch in reverb.TrajectoryDataset.from_table_signature(
        f'localhost:{server.port}', 'experience', max_in_flight_samples_per_worker=2,
        max_samples=count).batch(2):
      replay.add_episodes(batch.data)
    held = replay._storage.step[:replay.size].numpy()  # pylint: disable=protected-access
    writer.close()
    return sorted(map(tuple, held.tolist())), count
  finally:
    server.stop()


def test_an_episode_becomes_one_item_and_every_window_inside_it():
  windows, count = written_and_read([episode(0, 5), episode(100, 3)], episode_length=5,
                                    sequence_length=2)
  assert count == 2
  # 5 + 3 windows, none from one episode's end into the next one's start.
  assert windows == [(i, i + 1) for i in range(5)] + [(100 + i, 101 + i) for i in range(3)]


def test_an_episode_longer_than_an_item_loses_no_window():
  windows, count = written_and_read([episode(0, 11)], episode_length=4, sequence_length=3)
  assert count == 4  # 5 steps an item, each the last 2 steps of the one before and 3 new
  assert windows == [(i, i + 1, i + 2) for i in range(10)]


def test_an_episode_shorter_than_a_window_gives_none():
  windows, count = written_and_read([episode(0, 1), episode(10, 4)], episode_length=6,
                                    sequence_length=3)
  assert count == 1
  assert windows == [(10 + i, 11 + i, 12 + i) for i in range(3)]


def test_an_item_gives_back_every_field_bit_for_bit():
  Fields = collections.namedtuple('Fields', ['image', 'position', 'flag', 'count', 'empty'])
  spec = Fields(tf.TensorSpec([2, 2], tf.uint8), tf.TensorSpec([3], tf.float64),
                tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.int64), ())
  rng = np.random.default_rng(0)
  episode = [Fields(rng.integers(0, 256, [2, 2]).astype(np.uint8), rng.normal(size=3),
                    bool(i % 2), np.int64(-2**40 + i), ()) for i in range(3)]
  item = episode_items.pack(spec, episode, steps=5)
  assert item.dtype == np.uint8 and item.shape == episode_items.item_signature(spec, 5).shape
  steps, lengths = episode_items.unpack(spec, tf.constant(item[None]))
  assert lengths.numpy().tolist() == [3]
  for name in ('image', 'position', 'flag', 'count'):
    values = getattr(steps, name).numpy()[0]
    assert values.dtype == getattr(spec, name).dtype.as_numpy_dtype
    np.testing.assert_array_equal(values[:3], np.stack([getattr(s, name) for s in episode]))
    assert not values[3:].any()  # the padding
