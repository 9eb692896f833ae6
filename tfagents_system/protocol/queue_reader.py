"""Reading a Reverb table through one dataset kept open: the trainer's reader of the tables only
it takes items from (the experience feed, the workers' reports), and the open stream of items
under it, which the workers also wait on for the trainer's notices.

A dataset made for each read cost the trainer ~8 ms of its CPU (the dataset, its iterator and its
gRPC stream) and ~20 ms of waiting when it was closed; reading an item from an open one costs
~0.4 ms. An open dataset's sampler takes the next item off the table before it is asked for it,
so what there is to read is the table's items plus the ones taken and not yet read: the table's
samples since the dataset opened (only the trainer samples these tables) minus the reads.
"""
import concurrent.futures
import threading
from typing import Callable, List, Optional

import numpy as np
import reverb
import tensorflow as tf

from tfagents_system.protocol.replay_connection import PROBE_TIMEOUT_S

# A read asks only for items on the table or taken by the sampler, so it does not wait for
# writes (unless asked to wait for one); were the counts off (a server that restarted under it),
# a read asking for an item that is not there waits this long (Reverb's rate limiter timeout),
# then the dataset ends. An open dataset that has nothing to take for this long ends too.
MISSING_ITEM_TIMEOUT_MS = 1000


class ReplayServerSilent(RuntimeError):
  """An item was asked for and the server gave neither the item nor its timeout."""


class TableStream:
  """The items of one table, one at a time, through a Reverb dataset kept open.

  A read waits for an item up to `timeout_ms` (then the dataset ends, and the next read opens a
  new one). Reverb's sampler retries a server that went away for as long as it takes, so the read
  runs on a thread of its own: when the server answers neither way within PROBE_TIMEOUT_S more,
  the read raises ReplayServerSilent (for the connection's retry rule) and the stream starts
  over, leaving that thread to end with the dataset once the server is back; its sampler may
  take one item of the new server with it (a report: the trainer goes on without it after
  worker_report_timeout_s; a notice: its worker wakes a second later).
  """

  def __init__(self, address: str, table: str, signature: tf.TensorSpec, timeout_ms: int):
    self._address = address
    self._table = table
    self._signature = signature
    self._timeout_ms = timeout_ms
    self._items = None  # the open dataset's iterator
    self.datasets_opened = 0
    # Closing a dataset waits ~20 ms for its sampler to wind down, of no use to the reader.
    self._closer = concurrent.futures.ThreadPoolExecutor(1, f'{table}_closer')

  @property
  def is_open(self) -> bool:
    return self._items is not None

  def read(self) -> Optional[np.ndarray]:
    """The next item, or None when none came within the timeout."""
    if self._items is None:
      self._items = iter(reverb.TimestepDataset(
          self._address, self._table, dtypes=self._signature.dtype,
          shapes=self._signature.shape, max_in_flight_samples_per_worker=1,
          num_workers_per_iterator=1, rate_limiter_timeout_ms=self._timeout_ms))
      self.datasets_opened += 1
    result = []
    reading = threading.Thread(target=_next_into, args=(self._items, result), daemon=True,
                               name=f'{self._table}_read')
    reading.start()
    reading.join(self._timeout_ms / 1000 + PROBE_TIMEOUT_S)
    if reading.is_alive():
      self._items = None  # the blocked thread holds it
      raise ReplayServerSilent(f'no answer from the replay server reading {self._table}')
    if isinstance(result[0], Exception):
      raise result[0]
    if result[0] is None:
      self.close()
    return result[0]

  def close(self) -> None:
    """Drops the open dataset (when it ended, or its stream is of a server that went away)."""
    if self._items is not None:
      spent = [self._items]
      self._items = None
      self._closer.submit(spent.clear)  # the list holds the last reference


def _next_into(items, result: list) -> None:
  try:
    result.append(next(items).data.numpy())
  except (StopIteration, tf.errors.OutOfRangeError):  # the wait for an item timed out
    result.append(None)
  except Exception as e:  # pylint: disable=broad-except
    result.append(e)


class QueueReader:
  """Reads every item written to one table once, in the order written."""

  def __init__(self, address: str, table: str,
               table_info: Callable[[], reverb.reverb_types.TableInfo]):
    """`table_info()`: the table's, from the server."""
    self._address = address
    self._table = table
    self._table_info = table_info
    self._stream: Optional[TableStream] = None  # made at the first read, of the table's signature
    self._samples_at_open = 0
    self._reads = 0

  @property
  def datasets_opened(self) -> int:
    return self._stream.datasets_opened if self._stream else 0

  def _is_open(self) -> bool:
    return self._stream is not None and self._stream.is_open

  def read(self, wait: bool = False) -> List[np.ndarray]:
    """The items written since the last read (the ones already taken by the sampler first).
    With `wait`, when there are none, waits for the next one written, up to about
    MISSING_ITEM_TIMEOUT_MS (twice that when the open dataset had ended idle): a wait that
    takes no CPU and returns as soon as the item is written, where polling would add its
    interval to every wait."""
    items = []
    for _ in range(2):  # the open dataset, then, had it ended, a new one
      info = self._table_info()
      due = self._due(info)
      opened_now = not self._is_open()
      if opened_now:
        if self._stream is None:
          self._stream = TableStream(
              self._address, self._table,
              tf.TensorSpec(info.signature.shape, info.signature.dtype), MISSING_ITEM_TIMEOUT_MS)
        self._samples_at_open = self._samples(info)
        self._reads = 0
      for _ in range(max(due, 1 if wait and not items else 0)):
        item = self._stream.read()
        if item is None:
          # It waited MISSING_ITEM_TIMEOUT_MS for an item and ended: what is left is on the
          # table. A dataset opened for this read that ends short has read it all.
          break
        items.append(item)
        self._reads += 1
      else:
        return items
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
    return info.current_size + (taken if self._is_open() else 0)

  def close(self) -> None:
    """Drops the open dataset (when the server restarted: its stream is of the old one)."""
    if self._stream is not None:
      self._stream.close()

  @staticmethod
  def _samples(info) -> int:
    return info.rate_limiter_info.sample_stats.completed
