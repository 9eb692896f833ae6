"""The trainer's reader of the feed and the reports against a real Reverb server: every item
written is read once, in the order written, through one dataset kept open across reads, also
when its sampler has taken an item before the read; a read that waits returns as soon as an item
is written, and within a bound when none is; when its counts are off, a read ends within a bound
and the next goes on from a new dataset. A read from a server that died gives up within its
bound."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf

from tfagents_system.protocol import queue_reader
from tfagents_system.protocol.queue_reader import QueueReader
from tfagents_system.protocol.queue_reader import ReplayServerSilent
from tfagents_system.protocol.queue_reader import TableStream
from tfagents_system.protocol.replay_connection import PROBE_TIMEOUT_S
from tfagents_system.protocol.replay_connection import wait_until_listening
from tfagents_system.protocol.replay_tables import FEED_TABLE

ITEM = tf.TensorSpec((8,), tf.int64)


@pytest.fixture
def server():
  server = reverb.Server([reverb.Table.queue(FEED_TABLE, 1000, signature=ITEM)])
  yield server
  server.stop()


class Feed:
  """Writes numbered items the way workers do, and reads them with a QueueReader."""

  def __init__(self, server):
    self.client = reverb.Client(f'localhost:{server.port}')
    self.reader = QueueReader(f'localhost:{server.port}', FEED_TABLE,
                              lambda: self.client.server_info()[FEED_TABLE])
    self.written = 0

  def write(self, count):
    with self.client.trajectory_writer(1) as writer:
      for _ in range(count):
        writer.append(np.full(ITEM.shape, self.written, np.int64))
        writer.create_item(FEED_TABLE, 1.0, writer.history[-1])
        self.written += 1

  def read(self, wait=False):
    return [int(item[0]) for item in self.reader.read(wait)]

  def taken_by_the_sampler(self):
    """Waits (bounded) until the open dataset's sampler took the item on the table."""
    deadline = time.monotonic() + 10
    while self.client.server_info()[FEED_TABLE].current_size:
      assert time.monotonic() < deadline
      time.sleep(0.01)


def test_every_item_is_read_once_in_order_through_one_open_dataset(server):
  feed = Feed(server)
  read = []
  for count in (0, 3, 1, 0, 5, 2):
    feed.write(count)
    read += feed.read()
  assert read == list(range(feed.written))
  assert feed.reader.datasets_opened == 1


def test_an_item_the_sampler_took_before_the_read_is_read_and_seen(server):
  feed = Feed(server)
  feed.write(2)
  assert feed.read() == [0, 1]  # the dataset is open now; its sampler asks for the next item
  feed.write(1)
  feed.taken_by_the_sampler()  # the table is empty, the item is the reader's
  assert feed.reader.has_items()
  feed.write(1)
  assert feed.read() == [2, 3]
  assert not feed.reader.has_items()


def test_a_feed_emptied_under_the_reader_is_read_on_from_a_new_dataset(server):
  """As when the replay server restarted empty: the table's counts start over."""
  feed = Feed(server)
  feed.write(2)
  assert feed.read() == [0, 1]
  feed.write(3)
  feed.client.reset(FEED_TABLE)  # lost, but for the item the sampler may have taken already
  assert set(feed.read()) <= {2}
  feed.write(2)
  assert feed.read() == [5, 6]
  assert feed.reader.datasets_opened == 2


def test_a_read_that_asks_for_a_missing_item_ends_and_the_next_goes_on(server):
  """An item taken off the feed by someone else (only the trainer should read it) is counted as
  the reader's: the read waits MISSING_ITEM_TIMEOUT_MS for it, no longer."""
  feed = Feed(server)
  feed.write(2)
  assert feed.read() == [0, 1]
  feed.write(1)
  feed.taken_by_the_sampler()
  feed.write(1)
  taken, = feed.client.sample(FEED_TABLE, 1, emit_timesteps=False)  # item 3, behind its back
  assert np.ravel(taken.data[0])[0] == 3
  start = time.monotonic()
  assert feed.read() == [2]
  assert time.monotonic() - start < 2 * queue_reader.MISSING_ITEM_TIMEOUT_MS / 1000
  feed.write(1)
  assert feed.read() == [4]
  assert feed.reader.datasets_opened == 2


def test_a_waiting_read_returns_the_item_written_during_the_wait(server, monkeypatch):
  monkeypatch.setattr(queue_reader, 'MISSING_ITEM_TIMEOUT_MS', 30_000)  # no timeout to end it
  feed = Feed(server)
  feed.write(1)
  assert feed.read() == [0]
  writer = threading.Timer(0.3, feed.write, [1])
  start = time.monotonic()
  writer.start()
  try:
    assert feed.read(wait=True) == [1]
  finally:
    writer.join(10)
  # Once written, not after the wait's timeout.
  assert time.monotonic() - start < queue_reader.MISSING_ITEM_TIMEOUT_MS / 1000 / 2
  feed.write(2)
  assert feed.read(wait=True) == [2, 3]  # nothing to wait for


def test_a_waiting_read_with_nothing_written_returns_nothing_within_its_bound(server):
  feed = Feed(server)
  feed.write(1)
  assert feed.read() == [0]
  time.sleep(1.5 * queue_reader.MISSING_ITEM_TIMEOUT_MS / 1000)  # the open dataset ends idle
  start = time.monotonic()
  assert feed.read(wait=True) == []
  assert time.monotonic() - start < 3 * queue_reader.MISSING_ITEM_TIMEOUT_MS / 1000
  feed.write(1)
  assert feed.read(wait=True) == [1]


SERVER_PROGRAM = """
import sys, time, reverb, tensorflow as tf
server = reverb.Server([reverb.Table.queue('q', 10, signature=tf.TensorSpec((), tf.int64))],
                       port=int(sys.argv[1]))
time.sleep(600)
"""


def test_a_read_from_a_server_killed_under_it_gives_up_within_its_bound():
  """Reverb's sampler retries a server that went away for as long as it takes."""
  with socket.socket() as s:
    s.bind(('localhost', 0))
    port = s.getsockname()[1]
  server = subprocess.Popen([sys.executable, '-c', SERVER_PROGRAM, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    wait_until_listening(f'localhost:{port}', time.monotonic() + 60)
    stream = TableStream(f'localhost:{port}', 'q', tf.TensorSpec((), tf.int64), timeout_ms=500)
    assert stream.read() is None  # nothing written: the wait times out
    threading.Timer(0.5, os.kill, [server.pid, signal.SIGKILL]).start()
    start = time.monotonic()
    with pytest.raises(ReplayServerSilent):
      stream.read()
    assert time.monotonic() - start < 0.5 + PROBE_TIMEOUT_S + 2
    assert not stream.is_open
  finally:
    server.kill()
    server.wait(30)
