"""How the trainer and the collect workers keep in step, entirely through Reverb.

Tables on the replay server:
  experience      the replay buffer the trainer samples from.
  variables       the latest policy variables and train step (ReverbVariableContainer).
  iteration       the iteration the latest policy was published for; tiny, so
                  workers can poll it cheaply while they wait.
  worker_reports  a queue of per-iteration reports from the workers (experience
                  written, collect and eval returns) that the trainer drains.

Iteration k: the trainer publishes the policy for k, runs k's SGD steps, then
waits (bounded) until every worker has reported k. A worker takes the policy
for k, collects, reports k, and waits for the next publication. Iteration
INIT_ITERATION is the initial random-policy collection.

Reverb errors (a replay server that died and is being restarted by supervise)
are retried: both sides wait for the server with backoff and reconnect. A
restarted server reloads its last checkpoint without the publication and the
reports in it, which are stale; the trainer notices that its publication is
gone and publishes the iteration again, so workers whose report was lost do it
again.
"""
import dataclasses
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

from absl import logging
import numpy as np
import reverb
import tensorflow as tf
from tf_agents.experimental.distributed import reverb_variable_container
from tf_agents.specs import tensor_spec

EXPERIENCE_TABLE = 'experience'
VARIABLE_TABLE = reverb_variable_container.DEFAULT_TABLE
ITERATION_TABLE = 'iteration'
REPORT_TABLE = 'worker_reports'
REPORT_QUEUE_SIZE = 10000
STOP_WAIT_S = 10.0

INIT_ITERATION = -1
ITERATION_KEY = 'iteration'
# Every publication has a new, larger id (a timestamp): workers follow publications,
# not iteration numbers, so they also follow a trainer that restarted from an earlier
# checkpoint, and ignore an old publication a restarted replay server reloaded.
PUBLICATION_KEY = 'publication'
POLICY_KEY = reverb_variable_container.POLICY_KEY
TRAIN_STEP_KEY = reverb_variable_container.TRAIN_STEP_KEY


# What a call to a Reverb server that went away raises: the Python client's
# RuntimeError, TensorFlow ops' gRPC status errors.
CONNECTION_ERRORS = (RuntimeError, reverb.errors.ReverbError, tf.errors.UnavailableError,
                     tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                     tf.errors.AbortedError, tf.errors.InternalError)
T = TypeVar('T')


def wait_for_server(address: str) -> reverb.Client:
  """Connects to the Reverb server, retrying with backoff while it (re)starts."""
  client = reverb.Client(address)
  delay = 0.1
  while True:
    try:
      client.server_info(timeout=5)
      return client
    except CONNECTION_ERRORS as e:
      logging.info('Waiting %.1fs for the Reverb server at %s: %s', delay, address, e)
      time.sleep(delay)
      delay = min(delay * 2, 10.0)


def retry_on_connection_errors(call: Callable[[], T], reconnect: Callable[[], None],
                               what: str, attempts: Optional[int] = None) -> T:
  """Runs `call`; when the server went away, reconnects (with backoff) and runs it again.

  `reconnect` waits as long as the server is down. With `attempts`, a call that still fails
  that many times against a server that answers (a checkpoint on a full disk) raises.
  """
  attempt = 0
  while True:
    attempt += 1
    try:
      return call()
    except CONNECTION_ERRORS as e:
      if attempt == attempts:
        raise
      logging.warning('Reverb error while %s (%s: %s); reconnecting', what, type(e).__name__,
                      str(e).splitlines()[0] if str(e) else '')
      reconnect()


def synced_variables(policy_variables, train_step) -> Dict[str, object]:
  return {POLICY_KEY: policy_variables, TRAIN_STEP_KEY: train_step}


def make_tables(collect_data_spec, sequence_length: int, synced_variables_nest,
                capacity: int, min_size_to_sample: int) -> List[reverb.Table]:
  """The replay server's tables."""
  experience_signature = tensor_spec.add_outer_dim(
      tensor_spec.from_spec(collect_data_spec), sequence_length)
  variables_signature = tf.nest.map_structure(
      lambda v: tf.TensorSpec(v.shape, v.dtype), synced_variables_nest)
  return [
      reverb.Table(
          EXPERIENCE_TABLE,
          max_size=capacity,
          sampler=reverb.selectors.Uniform(),
          remover=reverb.selectors.Fifo(),
          rate_limiter=reverb.rate_limiters.MinSize(min_size_to_sample),
          signature=experience_signature),
      reverb.Table(
          VARIABLE_TABLE,
          max_size=1,
          sampler=reverb.selectors.Uniform(),
          remover=reverb.selectors.Fifo(),
          rate_limiter=reverb.rate_limiters.MinSize(1),
          signature=variables_signature),
      reverb.Table(
          ITERATION_TABLE,
          max_size=1,
          sampler=reverb.selectors.Uniform(),
          remover=reverb.selectors.Fifo(),
          rate_limiter=reverb.rate_limiters.MinSize(1),
          signature={ITERATION_KEY: tf.TensorSpec((), tf.int64),
                     PUBLICATION_KEY: tf.TensorSpec((), tf.int64)}),
      reverb.Table.queue(
          REPORT_TABLE,
          max_size=REPORT_QUEUE_SIZE,
          signature=tf.TensorSpec((len(WorkerReport.__dataclass_fields__),), tf.float64)),
  ]


def experience_dataset(address: str, batch_size: int, prefetch_batches: int) -> tf.data.Dataset:
  """(experience [batch, sequence, ...], sample info) batches for the Learner, sampled uniformly.

  One Reverb stream batched by tf.data: on a 1-CPU trainer ~3x the SGD steps/s of
  ReverbReplayBuffer.as_dataset, whose 32 interleaved streams cost ~60 µs per item
  (bench/efficiency.py, docs/benchmarks.md).
  """
  return (reverb.TrajectoryDataset.from_table_signature(
      address, EXPERIENCE_TABLE, max_in_flight_samples_per_worker=2 * batch_size)
          .batch(batch_size, drop_remainder=True)
          .map(lambda sample: (sample.data, sample.info))
          .prefetch(prefetch_batches))


@dataclasses.dataclass
class WorkerReport:
  """What a worker did in one iteration."""
  worker: int
  iteration: int
  env_steps: int = 0
  collect_episodes: int = 0
  collect_return_sum: float = 0.0
  collect_length_sum: float = 0.0
  eval_episodes: int = 0
  eval_return_sum: float = 0.0
  eval_length_sum: float = 0.0
  # Where the worker's iteration went (RunTime/* summaries, bench/).
  collect_seconds: float = 0.0
  eval_seconds: float = 0.0
  policy_pull_seconds: float = 0.0
  publication_wait_seconds: float = 0.0  # before this iteration's publication was seen

  def to_array(self) -> np.ndarray:
    return np.array(dataclasses.astuple(self), dtype=np.float64)

  @classmethod
  def from_array(cls, array: np.ndarray) -> 'WorkerReport':
    values = [field.type(v) if field.type is int else float(v)
              for field, v in zip(dataclasses.fields(cls), np.ravel(array))]
    return cls(*values)


@dataclasses.dataclass
class IterationSummary:
  """The reports of all workers for one iteration, added up."""
  reports: List[WorkerReport]
  missing_workers: List[int]

  def _sum(self, name: str) -> float:
    return sum(getattr(r, name) for r in self.reports)

  @property
  def env_steps(self) -> int:
    return int(self._sum('env_steps'))

  def _mean(self, total: str, count: str):
    n = self._sum(count)
    return self._sum(total) / n if n else None

  @property
  def collect_return(self):
    return self._mean('collect_return_sum', 'collect_episodes')

  @property
  def collect_episode_length(self):
    return self._mean('collect_length_sum', 'collect_episodes')

  @property
  def eval_return(self):
    return self._mean('eval_return_sum', 'eval_episodes')

  @property
  def eval_episode_length(self):
    return self._mean('eval_length_sum', 'eval_episodes')


class TrainerSync:
  """The trainer's side: publish policies, gather worker reports."""

  def __init__(self, address: str, variables_nest, num_workers: int):
    self._address = address
    self._variables = variables_nest
    self._num_workers = num_workers
    self._publication: Optional[int] = None
    self._iteration: Optional[int] = None
    self.connect()

  def connect(self) -> None:
    self.client = wait_for_server(self._address)
    self._container = reverb_variable_container.ReverbVariableContainer(
        self._address, table_names=[VARIABLE_TABLE, ITERATION_TABLE])

  def publish(self, iteration: int) -> None:
    """Pushes the policy for `iteration`; the iteration number goes last so a
    worker that sees it is sure to get that policy."""
    self._iteration, self._publication = iteration, time.time_ns()
    retry_on_connection_errors(self._push, self.connect, f'publishing iteration {iteration}')

  def _push(self) -> None:
    self._container.push(self._variables, VARIABLE_TABLE)
    self._container.push({ITERATION_KEY: tf.constant(self._iteration, tf.int64),
                          PUBLICATION_KEY: tf.constant(self._publication, tf.int64)},
                         ITERATION_TABLE)

  def gather(self, iteration: int, timeout_s: float,
             stop_requested: threading.Event) -> 'IterationSummary':
    """Waits until every worker reported `iteration`, or `timeout_s` passed.

    Once a stop is requested, waits at most STOP_WAIT_S more.
    """
    reports: Dict[int, WorkerReport] = {}
    deadline = time.monotonic() + timeout_s
    next_check = time.monotonic() + 1.0
    while len(reports) < self._num_workers and time.monotonic() < deadline:
      for report in retry_on_connection_errors(self._drain, self.connect, 'reading reports'):
        if report.iteration == iteration:
          reports[report.worker] = report
        else:
          logging.info('Ignoring a late report of worker %d for iteration %d',
                       report.worker, report.iteration)
      if time.monotonic() > next_check:
        next_check = time.monotonic() + 1.0
        if not retry_on_connection_errors(self._publication_is_current, self.connect,
                                          'checking the publication'):
          logging.warning('The replay server restarted; publishing iteration %d again', iteration)
          self.publish(iteration)
      if stop_requested.is_set():
        deadline = min(deadline, time.monotonic() + STOP_WAIT_S)
      if len(reports) < self._num_workers:
        time.sleep(0.02)
    missing = sorted(set(range(self._num_workers)) - set(reports))
    if missing:
      logging.warning('Iteration %d: no report from workers %s within %.0fs; going on without them',
                      iteration, missing, timeout_s)
    return IterationSummary(sorted(reports.values(), key=lambda r: r.worker), missing)

  def _publication_is_current(self) -> bool:
    if not self.client.server_info()[ITERATION_TABLE].current_size:
      return False
    return int(self._container.pull(ITERATION_TABLE)[PUBLICATION_KEY]) == self._publication

  def _drain(self) -> List[WorkerReport]:
    size = self.client.server_info()[REPORT_TABLE].current_size
    if not size:
      return []
    return [WorkerReport.from_array(sample.data[0])
            for sample in self.client.sample(REPORT_TABLE, num_samples=size,
                                             emit_timesteps=False)]


class WorkerSync:
  """A collect worker's side: follow the trainer's publications, report its own iterations."""

  def __init__(self, address: str, poll_interval_s: float = 0.02):
    self._address = address
    self._poll_interval_s = poll_interval_s
    self._publication = -1
    self.connect()

  def connect(self) -> None:
    self._client = wait_for_server(self._address)
    self._container = reverb_variable_container.ReverbVariableContainer(
        self._address, table_names=[VARIABLE_TABLE, ITERATION_TABLE])

  def wait_for_next_iteration(self) -> int:
    """Blocks until the trainer publishes anew; returns the iteration it published."""
    while True:
      if self._client.server_info()[ITERATION_TABLE].current_size:
        published = self._container.pull(ITERATION_TABLE)
        if int(published[PUBLICATION_KEY]) > self._publication:
          self._publication = int(published[PUBLICATION_KEY])
          return int(published[ITERATION_KEY])
      time.sleep(self._poll_interval_s)

  def update_policy(self, variables_nest) -> None:
    self._container.update(variables_nest, VARIABLE_TABLE)

  def report(self, report: WorkerReport) -> None:
    self._client.insert([report.to_array()], priorities={REPORT_TABLE: 1.0})


def episode_share(total: int, worker_index: int, num_workers: int) -> int:
  """This worker's part of `total` episodes split across all workers."""
  return total // num_workers + (1 if worker_index < total % num_workers else 0)


def env_seeds(base_seed: int, worker_index: int) -> Tuple[int, int]:
  """Distinct (collect, eval) env seeds for every worker of every run seed."""
  collect_seed = 1000 * base_seed + 2 * worker_index
  return collect_seed, collect_seed + 1


def is_eval_iteration(iteration: int, eval_period_itrs: int, num_iter: int) -> bool:
  return iteration % eval_period_itrs == 0 or iteration == num_iter - 1
