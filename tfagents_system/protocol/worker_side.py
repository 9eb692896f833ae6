"""A collect worker's side of the iteration protocol (iteration_sync.py): it follows the
trainer's publications, pulls their policy and reports its own iterations.
"""
import math
import time
from typing import Optional, Tuple

from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.protocol.queue_reader import TableStream
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerLost
from tfagents_system.protocol.replay_tables import ITERATION_KEY
from tfagents_system.protocol.replay_tables import ITERATION_TABLE
from tfagents_system.protocol.replay_tables import NOTICE_SIGNATURE
from tfagents_system.protocol.replay_tables import NOTICE_TABLE
from tfagents_system.protocol.replay_tables import PUBLICATION_KEY
from tfagents_system.protocol.replay_tables import REPORT_TABLE
from tfagents_system.protocol.replay_tables import VARIABLE_TABLE


# A wait for a notice ends after this (Reverb's rate limiter timeout) and the publication is
# checked again: a notice lost with a restarted server costs a wait of this long at most.
NOTICE_WAIT_MS = 1000


class WorkerSync:
  """A collect worker's side: follow the trainer's publications, report its own iterations."""

  def __init__(self, connection: ReplayConnection, report_layout: ReportLayout):
    self._connection = connection
    self._report_layout = report_layout
    self._publication = -1
    self._last_wait_end = -math.inf
    # Waiting on the trainer's notices takes no CPU and ends as soon as one is written, where
    # polling the iteration table would add its interval to every iteration.
    self._notices = TableStream(connection.address, NOTICE_TABLE, NOTICE_SIGNATURE,
                                NOTICE_WAIT_MS)
    connection.same_server = self._publication_is_current
    connection.on_reconnect(self._notices.close)

  def wait_for_next_iteration(self) -> int:
    """Blocks until the trainer publishes anew; returns the iteration it published.

    A notice says which. The open stream's sampler asks for the next notice as soon as one is
    read, and gives up after NOTICE_WAIT_MS: back within half of that, this worker had its
    request in when the trainer wrote one notice per worker, and got one. Otherwise (another
    worker's sampler may have taken it), and when no notice came (one lost with a restarted
    server), the iteration table says what is published.
    """
    published = None
    if (not self._notices.is_open or
        time.monotonic() - self._last_wait_end > NOTICE_WAIT_MS / 2000):
      published = self._connection.call(self._latest_publication, 'waiting for a publication')
    while published is None or published[1] <= self._publication:
      notice = self._connection.call(self._notices.read, 'waiting for a publication')
      published = (tuple(int(value) for value in notice) if notice is not None else
                   self._connection.call(self._latest_publication, 'waiting for a publication'))
    self._last_wait_end = time.monotonic()
    iteration, self._publication = published
    return iteration

  def _latest_publication(self) -> Optional[Tuple[int, int]]:
    """(iteration, publication), or None while nothing is published."""
    if not self._connection.table_size(ITERATION_TABLE):
      return None
    published = self._connection.pull(ITERATION_TABLE)
    return int(published[ITERATION_KEY]), int(published[PUBLICATION_KEY])

  def _publication_is_current(self) -> bool:
    published = self._latest_publication()
    return published is not None and published[1] == self._publication

  def update_policy(self, variables_nest) -> None:
    """The policy of the publication this worker follows; the trainer pushed it first."""
    if not self._connection.table_size(VARIABLE_TABLE):
      raise ReplayServerLost("the policy is gone from the replay server")
    self._connection.update(variables_nest, VARIABLE_TABLE)

  def report(self, report: WorkerReport) -> None:
    report.publication = self._publication
    self._connection.write_items(report.to_array(self._report_layout), REPORT_TABLE, count=1)
