"""The trainer's reader of the experience feed: one Reverb dataset kept open across iterations.

A dataset made for each read cost the trainer ~8 ms of its CPU per iteration (the dataset, its
iterator and its gRPC stream; 10-15% of point-mass's 100 SGD steps) and ~20 ms of waiting when it
was closed; reading an item from an open one costs ~0.4 ms. An open dataset's sampler takes the
next item off the feed table before it is asked for it, so what there is to read is the table's
items plus the ones taken and not yet read: the table's samples since the dataset opened (only
the trainer samples the feed) minus the reads.
"""
import concurrent.futures
from typing import Callable, List

import numpy as np
import reverb
import tensorflow as tf

from tfagents_system.protocol.replay_tables import FEED_TABLE

# A read asks only for items on the table or taken by the sampler, so it does not wait for
# writes; were the counts off (a server that restarted under it), a read asking for an item that
# is not there waits this long (Reverb's rate limiter timeout), then the dataset ends.
MISSING_ITEM_TIMEOUT_MS = 1000


class FeedReader:
  """Reads every item written to the feed table once, in the order written."""

  def __init__(self, address: str, table_info: Callable[[], reverb.reverb_types.TableInfo]):
    """`table_info()`: the feed table's, from the server."""
    self._address = address
    self._table_info = table_info
    self._items = None  # the open dataset's iterator
    self._samples_at_open = 0
    self._reads = 0
    self.datasets_opened = 0
    # Closing a dataset waits ~20 ms for its sampler to wind down, of no use to the SGD steps.
    self._closer = concurrent.futures.ThreadPoolExecutor(1, 'feed_closer')

  def read(self) -> List[np.ndarray]:
    """The items written since the last read (the ones already taken by the sampler first)."""
    items = []
    for _ in range(2):  # the open dataset, then, had it ended, a new one
      info = self._table_info()
      due = self._due(info)
      opened_now = self._items is None
      if opened_now:
        self._open(info)
      try:
        for _ in range(due):
          items.append(next(self._items).data.numpy())
          self._reads += 1
        return items
      except (StopIteration, tf.errors.OutOfRangeError):
        # It waited MISSING_ITEM_TIMEOUT_MS for an item and ended: what is left is on the
        # table. A dataset opened for this read that ends short has read it all.
        self.close()
        if opened_now:
          return items
    return items

  def has_items(self) -> bool:
    return self._due(self._table_info()) > 0

  def _due(self, info) -> int:
    """The items to read: on the table, and taken by the open dataset's sampler but not read."""
    taken = self._samples(info) - self._samples_at_open - self._reads
    if taken < 0:  # counts of another server instance: the one this dataset read restarted
      self.close()
    return info.current_size + (taken if self._items is not None else 0)

  def close(self) -> None:
    """Drops the open dataset (when the server restarted: its stream is of the old one)."""
    if self._items is not None:
      spent = [self._items]
      self._items = None
      self._closer.submit(spent.clear)  # the list holds the last reference

  def _open(self, info) -> None:
    self._samples_at_open = self._samples(info)
    self._reads = 0
    self._items = iter(reverb.TrajectoryDataset(
        self._address, FEED_TABLE, dtypes=info.signature.dtype, shapes=info.signature.shape,
        max_in_flight_samples_per_worker=1, num_workers_per_iterator=1,
        rate_limiter_timeout_ms=MISSING_ITEM_TIMEOUT_MS))
    self.datasets_opened += 1

  @staticmethod
  def _samples(info) -> int:
    return info.rate_limiter_info.sample_stats.completed
