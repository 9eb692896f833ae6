"""The replay server's tables, and the few numbers it takes to make them.

The launcher's checks compute those numbers (item size, capacity, the synced variables' shapes,
the report length: `TableSpecs`) and write them into the run's spec (run_spec.json), so that the
replay server program starts on `import reverb` alone: no TrainParams, env, agent or tf-agents.
It shares a CPU with the workers when CPUs are scarce, so what it does not import is start-up
time the workers get (docs/benchmarks.md).
"""
import dataclasses
from typing import Any, Dict, List

import reverb
import tensorflow as tf

EXPERIENCE_TABLE = 'experience'
# The same items once more, in the order written, each read once: what the trainer copies into
# its own replay (trainer_replay.py).
FEED_TABLE = 'experience_feed'
# The names of tf-agents' ReverbVariableContainer (tests/test_replay_tables.py checks them):
# its module imports all of tf-agents, which the replay server does not need.
VARIABLE_TABLE = 'variables'
POLICY_KEY = 'policy_variables'
TRAIN_STEP_KEY = 'train_step'
ITERATION_TABLE = 'iteration'
REPORT_TABLE = 'worker_reports'
REPORT_QUEUE_SIZE = 10000
# A notice per worker at each publication: a worker waiting for the next publication blocks on
# a read of this table (worker_side.py) instead of polling the iteration table. The notices are
# interchangeable; the iteration table stays the truth. Inserts never block: the oldest notices
# (of workers that did not take theirs) make room.
NOTICE_TABLE = 'publication_notices'
NOTICE_CAPACITY = 1000
NOTICE_SIGNATURE = tf.TensorSpec((2,), tf.int64)  # the iteration and the publication

ITERATION_KEY = 'iteration'
# Every publication has a new, larger id (a timestamp): workers follow publications,
# not iteration numbers, so they also follow a trainer that restarted from an earlier
# checkpoint, and ignore an old publication a restarted replay server reloaded.
PUBLICATION_KEY = 'publication'
ITERATION_SIGNATURE = {ITERATION_KEY: tf.TensorSpec((), tf.int64),
                       PUBLICATION_KEY: tf.TensorSpec((), tf.int64)}


def synced_variables(policy_variables, train_step) -> Dict[str, Any]:
  """What the trainer publishes and the workers pull: the policy and its train step."""
  return {POLICY_KEY: policy_variables, TRAIN_STEP_KEY: train_step}


def report_signature(report_length: int) -> tf.TensorSpec:
  return tf.TensorSpec((report_length,), tf.float64)


RUN_SPEC_KEY = 'replay_tables'  # where the launcher's checks put the TableSpecs


@dataclasses.dataclass
class TableSpecs:
  """Everything the tables depend on, as JSON-friendly values."""
  item_bytes: int  # an experience item, packed (episode_items.py)
  capacity_episodes: int
  policy_variables: List[List[Any]]  # [shape, dtype name] of each, in the policy's order
  train_step: List[Any]
  report_length: int

  @classmethod
  def of(cls, item_signature: tf.TensorSpec, capacity_episodes: int, synced_variables_nest,
         report_length: int) -> 'TableSpecs':
    shape_and_dtype = lambda v: [v.shape.as_list(), v.dtype.name]
    return cls(item_bytes=item_signature.shape.num_elements(),
               capacity_episodes=capacity_episodes,
               policy_variables=[shape_and_dtype(v) for v in synced_variables_nest[POLICY_KEY]],
               train_step=shape_and_dtype(synced_variables_nest[TRAIN_STEP_KEY]),
               report_length=report_length)

  @classmethod
  def from_run_spec(cls, run_spec: Dict[str, Any]) -> 'TableSpecs':
    return cls(**run_spec[RUN_SPEC_KEY])

  def to_json(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  def variables_signature(self) -> Dict[str, Any]:
    spec = lambda shape_and_dtype: tf.TensorSpec(*shape_and_dtype)
    return synced_variables([spec(v) for v in self.policy_variables], spec(self.train_step))


def make_tables(specs: TableSpecs) -> List[reverb.Table]:
  """The replay server's tables; experience items are episodes (episode_items.py)."""
  experience_signature = tf.TensorSpec([specs.item_bytes], tf.uint8)
  return [
      reverb.Table(
          EXPERIENCE_TABLE,
          max_size=specs.capacity_episodes,
          sampler=reverb.selectors.Uniform(),
          remover=reverb.selectors.Fifo(),
          rate_limiter=reverb.rate_limiters.MinSize(1),
          signature=experience_signature),
      reverb.Table(
          FEED_TABLE,
          max_size=specs.capacity_episodes,  # while no trainer drains it, it keeps the newest
          sampler=reverb.selectors.Fifo(),
          remover=reverb.selectors.Fifo(),
          max_times_sampled=1,
          rate_limiter=reverb.rate_limiters.MinSize(1),
          signature=experience_signature),
      _latest_item_table(VARIABLE_TABLE, specs.variables_signature()),
      _latest_item_table(ITERATION_TABLE, ITERATION_SIGNATURE),
      reverb.Table.queue(
          REPORT_TABLE,
          max_size=REPORT_QUEUE_SIZE,
          signature=report_signature(specs.report_length)),
      reverb.Table(
          NOTICE_TABLE,
          max_size=NOTICE_CAPACITY,
          sampler=reverb.selectors.Fifo(),
          remover=reverb.selectors.Fifo(),
          max_times_sampled=1,
          rate_limiter=reverb.rate_limiters.MinSize(1),
          signature=NOTICE_SIGNATURE),
  ]


def _latest_item_table(name: str, signature) -> reverb.Table:
  """A table of one item, the latest inserted (what the trainer publishes)."""
  return reverb.Table(name, max_size=1, sampler=reverb.selectors.Uniform(),
                      remover=reverb.selectors.Fifo(),
                      rate_limiter=reverb.rate_limiters.MinSize(1), signature=signature)
