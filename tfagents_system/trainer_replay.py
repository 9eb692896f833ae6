"""The trainer's own copy of the replay buffer, sampled inside the SGD steps' tf.function.

Sampling the replay server over gRPC sent every item ~batch-size times across the wire and
took three quarters of the trainer's CPU (docs/benchmarks.md). Now each item crosses once: the
trainer drains what workers wrote since into this ring (iteration_sync.TrainerSync.feed) and
samples it at memory speed. The ring has the replay capacity, evicts the oldest items first and
samples uniformly over all it holds, like the replay server's experience table, which stays the
durable store (checkpointed, reloaded by restarts and resumed runs).
"""
import tensorflow as tf


class TrainerReplay:
  """A FIFO ring of `capacity` replay items (each a nest shaped like `item_spec`) that hands out
  uniformly sampled batches of `batch_size`; iterating it gives those batches (Learner's
  direct sampling), built into the graph of the function that takes them."""

  def __init__(self, item_spec, capacity: int, batch_size: int):
    self.capacity = capacity
    self._batch_size = batch_size
    self._storage = tf.nest.map_structure(
        lambda spec: tf.Variable(tf.zeros([capacity] + spec.shape.as_list(), spec.dtype),
                                 trainable=False), item_spec)
    self._size = tf.Variable(0, dtype=tf.int64, trainable=False)
    self._next = tf.Variable(0, dtype=tf.int64, trainable=False)

  @property
  def size(self) -> int:
    return int(self._size.numpy())

  # Feeds come in batches of any size: one trace for all of them, not one per size.
  @tf.function(reduce_retracing=True)
  def add(self, items) -> None:
    """Appends a batch of items (at most `capacity`), evicting the oldest when full."""
    count = tf.shape(tf.nest.flatten(items)[0], out_type=tf.int64)[0]
    slots = tf.expand_dims((self._next + tf.range(count)) % self.capacity, 1)
    for variable, values in zip(tf.nest.flatten(self._storage), tf.nest.flatten(items)):
      variable.scatter_nd_update(slots, values)
    self._next.assign((self._next + count) % self.capacity)
    self._size.assign(tf.minimum(self._size + count, self.capacity))

  def sample(self):
    indices = tf.random.uniform([self._batch_size], maxval=self._size, dtype=tf.int64)
    return tf.nest.map_structure(lambda variable: tf.gather(variable, indices), self._storage)

  def __iter__(self) -> 'TrainerReplay':
    return self

  def __next__(self):
    return self.sample()
