"""The trainer's side of the iteration protocol (iteration_sync.py): it publishes the policy of
each iteration, feeds its own replay with the workers' experience, gathers their reports, and
publishes again when the replay server restarted under it.
"""
import threading
import time
from typing import Callable, Dict, List, Optional, TypeVar

from absl import logging
import numpy as np
import reverb
import tensorflow as tf

from tfagents_system.protocol.iteration_sync import INIT_ITERATION
from tfagents_system.protocol.iteration_sync import IterationSummary
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.protocol.queue_reader import QueueReader
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_tables import EXPERIENCE_TABLE
from tfagents_system.protocol.replay_tables import FEED_TABLE
from tfagents_system.protocol.replay_tables import ITERATION_SIGNATURE
from tfagents_system.protocol.replay_tables import ITERATION_TABLE
from tfagents_system.protocol.replay_tables import ITERATION_KEY
from tfagents_system.protocol.replay_tables import NOTICE_TABLE
from tfagents_system.protocol.replay_tables import PUBLICATION_KEY
from tfagents_system.protocol.replay_tables import REPORT_TABLE
from tfagents_system.protocol.replay_tables import VARIABLE_TABLE
from tfagents_system.trainer.trainer_replay import TrainerReplay

FEED_BATCH = 16  # episodes
STOP_WAIT_S = 10.0

# How long the trainer waits for experience while its replay holds less than a batch before it
# looks into why (a restarted server, a buffer that stopped growing); longer than an env step.
SAMPLE_TIMEOUT_MS = 10_000
# A plain Reverb sample of a table the server restarted empty under waits for an insert
# forever, and the trainer is the one that would insert (its publication) or make the workers
# insert (their reports): its reads of those tables give up after this.
READ_TIMEOUT_MS = 1000
T = TypeVar('T')


def read_items(address: str, table: str, signature, count: int) -> list:
  """The data of up to `count` items of `table`; fewer when it stays empty READ_TIMEOUT_MS."""
  dataset = reverb.TimestepDataset(
      address, table, dtypes=tf.nest.map_structure(lambda spec: spec.dtype, signature),
      shapes=tf.nest.map_structure(lambda spec: spec.shape, signature),
      max_in_flight_samples_per_worker=1, rate_limiter_timeout_ms=READ_TIMEOUT_MS,
      max_samples=count)
  return [sample.data for sample in dataset]


def read_batches(address: str, table: str, count: int) -> tf.data.Dataset:
  """Batches of FEED_BATCH samples of `table` (episode items), `count` in all, fewer
  when it stays empty READ_TIMEOUT_MS: the feed in the order written, the experience uniformly."""
  return reverb.TrajectoryDataset.from_table_signature(
      address, table, max_in_flight_samples_per_worker=min(count, FEED_BATCH),
      rate_limiter_timeout_ms=READ_TIMEOUT_MS, max_samples=count).batch(FEED_BATCH)


class TrainerSync:
  """The trainer's side: publish policies, feed the trainer's replay with the workers'
  experience, gather worker reports, and heal when the replay server restarted."""

  def __init__(self, connection: ReplayConnection, variables_nest, num_workers: int,
               report_layout: ReportLayout, replay: TrainerReplay, batch_size: int,
               worker_report_timeout_s: float):
    self._connection = connection
    self._variables = variables_nest
    self._num_workers = num_workers
    self._report_layout = report_layout
    self.replay = replay
    self._batch_size = batch_size
    self._report_timeout_s = worker_report_timeout_s
    self._publication: Optional[int] = None
    self._iteration: Optional[int] = None
    self._feed = QueueReader(connection.address, FEED_TABLE,
                             lambda: connection.table_info(FEED_TABLE))
    self._reports = QueueReader(connection.address, REPORT_TABLE,
                                lambda: connection.table_info(REPORT_TABLE))
    connection.same_server = self._publication_is_current
    # Their datasets stream from the server that went away.
    connection.on_reconnect(self._feed.close)
    connection.on_reconnect(self._reports.close)

  @property
  def replay_episodes(self) -> int:
    return self._connection.call(lambda: self._connection.table_size(EXPERIENCE_TABLE),
                                 'reading the replay buffer size')

  def checkpoint_replay(self) -> str:
    """A Reverb checkpoint; an error of the server's own (a full disk) is raised at once."""
    return self._connection.call(self._connection.checkpoint, 'checkpointing the replay buffer',
                                 attempts=3)

  @property
  def published_iteration(self) -> Optional[int]:
    return self._iteration

  @property
  def publication(self) -> Optional[int]:
    """The id of the latest publication (None before the first)."""
    return self._publication

  def publish(self, iteration: int) -> None:
    """Pushes the policy for `iteration`; the iteration number goes after it so a worker that
    sees it is sure to get that policy, then a notice for each worker."""
    # Microseconds: exact in the float64 array a report is sent as.
    self._iteration, self._publication = iteration, time.time_ns() // 1000
    self._connection.call(self._push, f'publishing iteration {iteration}')

  def _push(self) -> None:
    self._connection.push(self._variables, VARIABLE_TABLE)
    self._connection.push({ITERATION_KEY: tf.constant(self._iteration, tf.int64),
                           PUBLICATION_KEY: tf.constant(self._publication, tf.int64)},
                          ITERATION_TABLE)
    self._connection.write_items(np.array([self._iteration, self._publication], np.int64),
                                 NOTICE_TABLE, self._num_workers)

  def read_durable_replay(self) -> list:
    """What a trainer that (re)starts fills its replay with (fill_replay): a uniform resample of
    as many episodes as the durable table holds (Reverb cannot list a table), so sampling it is
    sampling the durable buffer. The feed's items are in that table already: it is emptied."""
    self._connection.call(lambda: self._connection.reset(FEED_TABLE), 'emptying the feed')
    episodes = self.replay_episodes
    if not episodes:
      return []
    return self._connection.call(
        lambda: list(read_batches(self._connection.address, EXPERIENCE_TABLE, episodes)),
        'loading the replay buffer')

  def fill_replay(self, durable_replay: list) -> None:
    for batch in durable_replay:
      self.replay.add_episodes(batch.data)
    if durable_replay:
      logging.info('Trainer replay loaded: %d windows of episodes resampled from the %d of the '
                   'replay buffer', self.replay.size,
                   sum(len(batch.data) for batch in durable_replay))

  def feed(self) -> None:
    """Moves what the workers wrote since the last call into the trainer's replay."""
    items = self._connection.call(self._feed.read, 'reading the experience feed')
    for start in range(0, len(items), FEED_BATCH):
      self.replay.add_episodes(np.stack(items[start:start + FEED_BATCH]))

  def train(self, run_steps: Callable[[TrainerReplay, int], T], steps: int, iteration: int,
            stop_requested: threading.Event) -> Optional[T]:
    """`run_steps(replay, steps)` once the replay took in the workers' new experience (None once
    a stop is requested). Each takes a feed's few milliseconds, so once per iteration: the SGD
    steps see the experience of every iteration before. A replay short of a batch waits
    (SAMPLE_TIMEOUT_MS) for it to grow, and when it does not (its data lost with a restarted
    server, or too little collected) random-policy episodes are collected again."""
    while True:
      self.feed()
      if self.replay.size >= self._batch_size:
        break
      if stop_requested.is_set():
        return None
      if not self._wait_for_experience(stop_requested):
        self._refill(iteration, stop_requested)
    return run_steps(self.replay, steps)

  def _wait_for_experience(self, stop_requested: threading.Event) -> bool:
    """Whether items arrived in the feed within SAMPLE_TIMEOUT_MS."""
    deadline = time.monotonic() + SAMPLE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline and not stop_requested.is_set():
      if self._connection.call(self._feed.has_items, 'reading the experience feed'):
        return True
      time.sleep(0.1)
    return False

  def _refill(self, iteration: int, stop_requested: threading.Event) -> None:
    logging.warning('The trainer replay holds %d items, less than a batch of %d; collecting '
                    'random-policy episodes again', self.replay.size, self._batch_size)
    self.publish(INIT_ITERATION)
    self.gather(INIT_ITERATION, stop_requested)
    logging.warning('Publishing iteration %d again', iteration)
    self.publish(iteration)

  def gather(self, iteration: int, stop_requested: threading.Event) -> IterationSummary:
    """Waits until every worker reported `iteration`, or worker_report_timeout_s passed.

    A server that restarted meanwhile lost the reported experience: the iteration is published
    again and its reports start over. Once a stop is requested, waits at most STOP_WAIT_S more.
    """
    reports: Dict[int, WorkerReport] = {}
    deadline = time.monotonic() + self._report_timeout_s
    next_check = time.monotonic() + 1.0
    while len(reports) < self._num_workers and time.monotonic() < deadline:
      for report in self._connection.call(self._next_reports, 'reading reports'):
        if report.publication == self._publication:
          reports[report.worker] = report
        else:
          logging.info('Ignoring a report of worker %d for an earlier publication (iteration %d)',
                       report.worker, report.iteration)
      if time.monotonic() > next_check:
        next_check = time.monotonic() + 1.0
        if not self._connection.call(self._publication_is_current, 'checking the publication'):
          logging.warning('The replay server restarted; publishing iteration %d again', iteration)
          reports.clear()
          self.publish(iteration)
      if stop_requested.is_set():
        deadline = min(deadline, time.monotonic() + STOP_WAIT_S)
    missing = sorted(set(range(self._num_workers)) - set(reports))
    if missing:
      logging.warning('Iteration %d: no report from workers %s within %.0fs; going on without them',
                      iteration, missing, self._report_timeout_s)
    return IterationSummary(sorted(reports.values(), key=lambda r: r.worker), missing)

  def _publication_is_current(self) -> bool:
    if self._publication is None:
      return True
    if not self._connection.table_size(ITERATION_TABLE):
      return False
    published = read_items(self._connection.address, ITERATION_TABLE, ITERATION_SIGNATURE, 1)
    return bool(published) and int(published[0][PUBLICATION_KEY]) == self._publication

  def _next_reports(self) -> List[WorkerReport]:
    """The reports written since the last call; when there are none, the next one written
    (a wait of about a second at most)."""
    return [WorkerReport.from_array(data, self._report_layout)
            for data in self._reports.read(wait=True)]
