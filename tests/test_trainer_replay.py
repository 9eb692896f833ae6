"""The trainer's replay: FIFO eviction at its capacity, uniform batches over what it holds."""
import collections

import numpy as np
import tensorflow as tf

from tfagents_system.trainer.trainer_replay import TrainerReplay

SPEC = {'observation': tf.TensorSpec([3], tf.float32), 'step': tf.TensorSpec([], tf.int64)}


def items(first, count):
  steps = np.arange(first, first + count, dtype=np.int64)
  return {'observation': np.broadcast_to(steps[:, None, None], (count, 2, 3)).astype(np.float32),
          'step': np.stack([steps, steps + 1], axis=1)}


def test_it_keeps_the_newest_capacity_items_and_samples_them_uniformly():
  replay = TrainerReplay(SPEC, 2, capacity=10, batch_size=2000)
  replay.add(items(0, 4))
  assert replay.size == 4
  replay.add(items(4, 9))  # 13 written: the oldest 3 are gone
  assert replay.size == 10
  batch = next(iter(replay))
  assert batch['observation'].shape == (2000, 2, 3) and batch['step'].shape == (2000, 2)
  steps = batch['step'].numpy()[:, 0]
  counts = collections.Counter(steps.tolist())
  assert set(counts) == set(range(3, 13))
  assert min(counts.values()) > 2000 / 10 * 0.6  # each about a tenth of the batch
  # Items stay whole: the fields of one sample come from the same item.
  np.testing.assert_array_equal(batch['observation'].numpy()[:, 0, 0], steps)
  np.testing.assert_array_equal(batch['step'].numpy()[:, 1], steps + 1)


def test_batches_drawn_inside_a_tf_function_change_at_every_call():
  replay = TrainerReplay(SPEC, 2, capacity=100, batch_size=8)
  replay.add(items(0, 100))
  draw = tf.function(lambda iterator: next(iterator)['step'])
  first, second = draw(replay).numpy(), draw(replay).numpy()
  assert not np.array_equal(first, second)


def test_feeds_of_any_size_share_one_trace():
  replay = TrainerReplay(SPEC, 2, capacity=100, batch_size=8)
  for first, count in ((0, 4), (4, 9), (13, 5), (18, 7), (25, 30)):
    replay.add(items(first, count))
  assert replay.size == 55
  assert replay.add.experimental_get_tracing_count() <= 2  # the first size, then any size
