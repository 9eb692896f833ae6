"""Experience crosses Reverb as whole episodes: a worker writes one item per episode, the
trainer cuts it into the train_sequence_length windows it samples.

Writing every env step as a 2-step window (tf-agents' ReverbAddTrajectoryObserver: a writer
append and one create_item per table, per step) took a third of a worker's collect step
(docs/benchmarks.md). An episode item costs that once per episode; per step a worker only keeps
the step in a list. Reverb's writer fixes the shape of what it is given, so every item holds
`item_steps` = episode_length + 1 steps (an episode's steps and its last time step), zeros past
its `length` (Reverb compresses them away); an episode longer than that goes as several items
overlapping by sequence_length - 1 steps, so that no window is lost. Windows never cross from
one episode into the next (tf-agents' observer's boundary windows pair an episode's last time
step with the next one's first: nothing to learn from).

An item is packed into a single byte column: its length, then each field's bytes over its
steps. Reverb keeps a chunk per column per item (~1.2 KB of the server's memory each), which for
a trajectory's seven columns was five times a point-mass episode's own bytes
(docs/benchmarks.md).
"""
import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

LENGTH_DTYPE = np.int32  # the item's first bytes: how many of its steps are real
LENGTH_BYTES = np.dtype(LENGTH_DTYPE).itemsize


def item_steps(episode_length: int) -> int:
  return episode_length + 1


def _field_bytes(spec) -> int:
  return spec.dtype.size * spec.shape.num_elements()


def step_bytes(data_spec) -> int:
  return sum(_field_bytes(spec) for spec in tf.nest.flatten(data_spec))


def field_layout(data_spec) -> list:
  """What packing depends on: each field's dtype and shape, in the order packed."""
  return [(spec.dtype, spec.shape) for spec in tf.nest.flatten(data_spec)]


def item_signature(data_spec, steps: int) -> tf.TensorSpec:
  """The experience tables' signature: an item of `steps` steps of `data_spec`, packed."""
  return tf.TensorSpec([LENGTH_BYTES + steps * step_bytes(data_spec)], tf.uint8)


def pack(data_spec, episode, steps: int) -> np.ndarray:
  """The item of an episode's first `steps` (or fewer) trajectory steps, zeros past them."""
  length = len(episode)
  blocks = [np.array([length], LENGTH_DTYPE).view(np.uint8)]
  for spec, values in zip(tf.nest.flatten(data_spec),
                          zip(*(tf.nest.flatten(step) for step in episode))):
    # A field's values side by side: they compress as well as in a column of their own.
    block = np.zeros([steps, _field_bytes(spec)], np.uint8)
    field = np.asarray(values, spec.dtype.as_numpy_dtype).reshape(length, -1)
    block[:length] = field.view(np.uint8)
    blocks.append(block.ravel())
  return np.concatenate(blocks)


def unpack(data_spec, items):
  """(steps, lengths) of a batch of items: `data_spec` with [items, item steps] outer dims,
  and how many steps of each are real."""
  batch = tf.shape(items)[0]
  lengths = tf.bitcast(items[:, :LENGTH_BYTES], tf.as_dtype(LENGTH_DTYPE))
  steps = (tf.shape(items)[1] - LENGTH_BYTES) // step_bytes(data_spec)
  fields, offset = [], LENGTH_BYTES
  for spec in tf.nest.flatten(data_spec):
    size = _field_bytes(spec)
    block = items[:, offset:offset + steps * size]
    offset += steps * size
    if spec.dtype == tf.bool:
      values = tf.cast(block, tf.bool)
    elif spec.dtype.size == 1:
      values = tf.bitcast(block, spec.dtype)
    else:  # bitcast turns a last dimension of dtype.size bytes into one value
      values = tf.bitcast(tf.reshape(block, [batch, -1, spec.dtype.size]), spec.dtype)
    fields.append(tf.reshape(values, [batch, steps] + spec.shape.as_list()))
  return tf.nest.pack_sequence_as(data_spec, fields), lengths


class EpisodeWriter:
  """An actor observer writing each episode into the experience tables as one item (several
  when it outgrows an item), once the episode ends. flush() sends what was written.

  `connection` gives it its Reverb writer: the program's ReplayConnection (or a reverb.Client)."""

  def __init__(self, connection, tables, data_spec, steps: int, sequence_length: int):
    self._writer = connection.trajectory_writer(num_keep_alive_refs=1)
    self._tables = list(tables)
    self._data_spec = data_spec
    self._item_steps = steps
    self._sequence_length = sequence_length
    self._episode = []

  def __call__(self, trajectory) -> None:
    self._episode.append(trajectory)
    # The step from an episode's last time step to the next's first ends the episode.
    if trajectory.step_type == ts.StepType.LAST:
      self._write_item()
      self._episode = []
    elif len(self._episode) == self._item_steps:
      self._write_item()
      self._episode = self._episode[len(self._episode) - (self._sequence_length - 1):]

  def _write_item(self) -> None:
    if len(self._episode) < self._sequence_length:
      return
    self._writer.append(pack(self._data_spec, self._episode, self._item_steps))
    for table in self._tables:
      self._writer.create_item(table, 1.0, self._writer.history[-1])

  def flush(self) -> None:
    self._writer.flush()

  def close(self) -> None:
    self._writer.close()


def windows(data_spec, items, sequence_length: int):
  """Every `sequence_length`-step window of a batch of items, [windows, sequence, ...]."""
  steps, lengths = unpack(data_spec, items)
  lengths = tf.cast(lengths, tf.int64)
  item_length = tf.shape(tf.nest.flatten(steps)[0], out_type=tf.int64)[1]
  starts = tf.range(item_length - sequence_length + 1)
  item, start = tf.unstack(
      tf.where(starts[None, :] <= lengths[:, None] - sequence_length), axis=1)
  offsets = start[:, None] + tf.range(sequence_length, dtype=tf.int64)[None, :]
  indices = tf.stack([tf.broadcast_to(item[:, None], tf.shape(offsets)), offsets], axis=-1)
  return tf.nest.map_structure(lambda values: tf.gather_nd(values, indices), steps)
