"""A collect worker's side of the iteration protocol (iteration_sync.py): it follows the
trainer's publications, pulls their policy and reports its own iterations.
"""
import time
from typing import Optional, Sequence, Tuple

from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerLost
from tfagents_system.protocol.replay_tables import ITERATION_KEY
from tfagents_system.protocol.replay_tables import ITERATION_TABLE
from tfagents_system.protocol.replay_tables import PUBLICATION_KEY
from tfagents_system.protocol.replay_tables import REPORT_TABLE
from tfagents_system.protocol.replay_tables import VARIABLE_TABLE


class WorkerSync:
  """A collect worker's side: follow the trainer's publications, report its own iterations."""

  def __init__(self, connection: ReplayConnection, curriculum_names: Sequence[str],
               poll_interval_s: float = 0.02):
    self._connection = connection
    self._curriculum_names = list(curriculum_names)
    self._poll_interval_s = poll_interval_s
    self._publication = -1
    connection.same_server = self._publication_is_current

  def wait_for_next_iteration(self) -> int:
    """Blocks until the trainer publishes anew; returns the iteration it published."""
    while True:
      published = self._connection.call(self._latest_publication, 'waiting for a publication')
      if published and published[1] > self._publication:
        iteration, self._publication = published
        return iteration
      time.sleep(self._poll_interval_s)

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
    self._connection.insert([report.to_array(self._curriculum_names)],
                            priorities={REPORT_TABLE: 1.0})
