"""The trainer's own copy of the replay buffer, sampled inside the SGD steps' tf.function.

Sampling the replay server over gRPC sent every item ~batch-size times across the wire and
took three quarters of the trainer's CPU (docs/benchmarks.md). Now each episode crosses once:
the trainer drains what workers wrote since (trainer_side.TrainerSync.feed), cuts it into
windows of train_sequence_length steps and keeps them in this ring, sampled at memory speed. The
ring holds the replay capacity in windows (n_episodes_in_buffer * episode_length: as many as
the replay server's experience table holds when episodes run their full length), evicts the
oldest first and samples uniformly over all it holds. That table stays the durable store
(checkpointed, reloaded by restarts and resumed runs).
"""
import tensorflow as tf
from tf_agents.specs import tensor_spec

from tfagents_system.protocol import episode_items


class TrainerReplay:
  """A FIFO ring of `capacity` windows (`sequence_length` steps of `data_spec`) that hands out
  uniformly sampled batches of `batch_size`; iterating it gives those batches (Learner's
  direct sampling), built into the graph of the function that takes them."""

  def __init__(self, data_spec, sequence_length: int, capacity: int, batch_size: int):
    self.capacity = capacity
    self.data_spec = data_spec
    self._sequence_length = sequence_length
    item_spec = tensor_spec.add_outer_dim(data_spec, sequence_length)
    self._batch_size = batch_size
    self._storage = tf.nest.map_structure(
        lambda spec: tf.Variable(tf.zeros([capacity] + spec.shape.as_list(), spec.dtype),
                                 trainable=False), item_spec)
    self._size = tf.Variable(0, dtype=tf.int64, trainable=False)
    self._next = tf.Variable(0, dtype=tf.int64, trainable=False)

  @property
  def size(self) -> int:
    return int(self._size.numpy())

  def holds(self, variable: tf.Variable) -> bool:
    """Whether `variable` is one of the ring's (its storage or its counters)."""
    return any(variable is own for own in tf.nest.flatten(self._storage) + [self._size, self._next])

  def clear(self) -> None:
    self._size.assign(0)
    self._next.assign(0)

  # Feeds come in batches of any size: one trace for all of them, not one per size.
  @tf.function(reduce_retracing=True)
  def add(self, windows) -> None:
    """Appends a batch of windows, evicting the oldest when full."""
    windows = tf.nest.map_structure(lambda values: values[-self.capacity:], windows)
    count = tf.shape(tf.nest.flatten(windows)[0], out_type=tf.int64)[0]
    slots = tf.expand_dims((self._next + tf.range(count)) % self.capacity, 1)
    for variable, values in zip(tf.nest.flatten(self._storage), tf.nest.flatten(windows)):
      variable.scatter_nd_update(slots, values)
    self._next.assign((self._next + count) % self.capacity)
    self._size.assign(tf.minimum(self._size + count, self.capacity))

  @tf.function(reduce_retracing=True)
  def add_episodes(self, items) -> None:
    """Appends every window of a batch of episode items (episode_items.py)."""
    self.add(episode_items.windows(self.data_spec, items, self._sequence_length))

  def sample(self):
    indices = tf.random.uniform([self._batch_size], maxval=self._size, dtype=tf.int64)
    return tf.nest.map_structure(lambda variable: tf.gather(variable, indices), self._storage)

  def __iter__(self) -> 'TrainerReplay':
    return self

  def __next__(self):
    return self.sample()
