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
"""
import numpy as np
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

STEPS_KEY = 'steps'
LENGTH_KEY = 'length'


def item_steps(episode_length: int) -> int:
  return episode_length + 1


def item_signature(collect_data_spec, steps: int):
  """The experience tables' signature: `steps` trajectory steps and how many of them are real."""
  return {STEPS_KEY: tensor_spec.add_outer_dim(tensor_spec.from_spec(collect_data_spec), steps),
          LENGTH_KEY: tf.TensorSpec((), tf.int32)}


class EpisodeWriter:
  """An actor observer writing each episode into the experience tables as one item (several
  when it outgrows an item), once the episode ends. flush() sends what was written."""

  def __init__(self, client, tables, steps: int, sequence_length: int):
    self._writer = client.trajectory_writer(num_keep_alive_refs=1)
    self._tables = list(tables)
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
    length = len(self._episode)
    if length < self._sequence_length:
      return
    padding = self._item_steps - length
    steps = tf.nest.map_structure(
        lambda *values: np.pad(np.stack(values), [(0, padding)] + [(0, 0)] * np.ndim(values[0])),
        *self._episode)
    self._writer.append({STEPS_KEY: steps, LENGTH_KEY: np.int32(length)})
    item = tf.nest.map_structure(lambda column: column[-1], self._writer.history)
    for table in self._tables:
      self._writer.create_item(table, 1.0, item)

  def flush(self) -> None:
    self._writer.flush()

  def close(self) -> None:
    self._writer.close()


def windows(items, sequence_length: int):
  """Every `sequence_length`-step window of a batch of episode items, [windows, sequence, ...]."""
  steps, lengths = items[STEPS_KEY], tf.cast(items[LENGTH_KEY], tf.int64)
  item_length = tf.shape(tf.nest.flatten(steps)[0], out_type=tf.int64)[1]
  starts = tf.range(item_length - sequence_length + 1)
  item, start = tf.unstack(
      tf.where(starts[None, :] <= lengths[:, None] - sequence_length), axis=1)
  offsets = start[:, None] + tf.range(sequence_length, dtype=tf.int64)[None, :]
  indices = tf.stack([tf.broadcast_to(item[:, None], tf.shape(offsets)), offsets], axis=-1)
  return tf.nest.map_structure(lambda values: tf.gather_nd(values, indices), steps)
