"""The one retry rule, against a real Reverb server that is stopped and started again on its port
(as supervise restarts the replay server): a call is run again only when the server went away
(it does not answer, or a new instance answers), within the bounds it is given; any other error
is raised as it is."""
import socket
import threading
import time

import pytest
import reverb

from tfagents_system.protocol import replay_connection
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerLost
from tfagents_system.protocol.replay_connection import ReplayServerUnreachable

TABLE = 'queue'
RESTART_AFTER_S = 1.0


def free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


class RestartingServer:
  """An in-process Reverb server on a fixed port that can be stopped and started again empty."""

  def __init__(self, checkpoints_dir=None):
    self.port = free_port()
    self.address = f'localhost:{self.port}'
    self._checkpoints_dir = checkpoints_dir
    self.server = None
    self.start()

  def start(self):
    checkpointer = (reverb.checkpointers.DefaultCheckpointer(self._checkpoints_dir)
                    if self._checkpoints_dir else None)
    self.server = reverb.Server([reverb.Table.queue(TABLE, 10)], port=self.port,
                                checkpointer=checkpointer)

  def stop(self):
    if self.server:
      self.server.stop()
      self.server = None

  def restart_later(self, delay_s=RESTART_AFTER_S):
    """Stops the server now and starts a new, empty instance after `delay_s`."""
    self.stop()
    restart = threading.Timer(delay_s, self.start)
    restart.start()
    return restart


@pytest.fixture
def server(tmp_path):
  server = RestartingServer(str(tmp_path / 'checkpoints'))
  yield server
  server.stop()


def insert_one(connection):
  connection.write_items(1.0, TABLE, count=1)


def test_the_servers_operations(server, tmp_path):
  connection = ReplayConnection(server.address, reconnect_timeout_s=30)
  insert_one(connection)
  with connection.trajectory_writer(num_keep_alive_refs=1) as writer:
    writer.append(2.0)
    writer.create_item(TABLE, 1.0, writer.history[-1])
  assert connection.table_size(TABLE) == connection.table_info(TABLE).current_size == 2
  assert connection.checkpoint().startswith(str(tmp_path / 'checkpoints'))
  connection.reset(TABLE)
  assert connection.table_size(TABLE) == 0


def size_after_an_insert(connection, runs):
  runs.append(1)
  insert_one(connection)
  return connection.table_size(TABLE)


def test_a_call_whose_server_does_not_answer_is_run_again_once_it_is_back(server, monkeypatch):
  monkeypatch.setattr(replay_connection, 'WRITE_TIMEOUT_S', 1)
  connection = ReplayConnection(server.address, reconnect_timeout_s=30)
  reconnects, runs = [], []
  connection.on_reconnect(lambda: reconnects.append(connection.table_size(TABLE)))
  insert_one(connection)
  # Back only once both the write and the probe that follows it gave up on the stopped one.
  restart = server.restart_later(replay_connection.WRITE_TIMEOUT_S +
                                 replay_connection.PROBE_TIMEOUT_S + 2)
  assert connection.call(lambda: size_after_an_insert(connection, runs), 'inserting') == 1
  restart.join()
  assert len(runs) == 2 and reconnects == [0]  # the hooks ran once the new, empty one answered


def test_a_new_instance_that_answers_counts_as_the_server_gone(server):
  # Restarted within the probe's timeout, the server answers it: `same_server` (each side of the
  # iteration sync's: is the publication I know there?) tells the new instance from the old one.
  connection = ReplayConnection(server.address, reconnect_timeout_s=30)
  insert_one(connection)
  connection.same_server = lambda: connection.table_size(TABLE) > 0
  reconnects, runs = [], []
  connection.on_reconnect(lambda: reconnects.append(1))
  restart = server.restart_later()
  assert connection.call(lambda: size_after_an_insert(connection, runs), 'inserting') == 1
  restart.join()
  assert len(runs) == 2 and reconnects == [1]


def test_an_error_while_the_same_server_answers_is_raised_as_it_is(server):
  connection = ReplayConnection(server.address, reconnect_timeout_s=30)
  reconnects, runs = [], []
  connection.on_reconnect(lambda: reconnects.append(1))

  def env_fails():
    runs.append(1)
    raise ValueError('the env rejects the action')

  with pytest.raises(ValueError, match='the env rejects the action'):
    connection.call(env_fails, 'collecting')
  assert runs == [1] and reconnects == []


def test_attempts_bound_the_runs_of_a_call_and_the_connection_goes_on(server):
  connection = ReplayConnection(server.address, reconnect_timeout_s=30)
  insert_one(connection)
  connection.same_server = lambda: connection.table_size(TABLE) > 0
  restart = server.restart_later()
  with pytest.raises(ReplayServerLost, match='the replay server went away while collecting'):
    connection.call(lambda: insert_one(connection), 'collecting', attempts=1)
  restart.join()
  insert_one(connection)  # reconnected: the next call works on the new server
  assert connection.table_size(TABLE) == 1


def test_reconnecting_to_a_server_that_does_not_come_back_gives_up_within_its_bound(server):
  connection = ReplayConnection(server.address, reconnect_timeout_s=2)
  server.stop()
  start = time.monotonic()
  with pytest.raises(ReplayServerUnreachable,
                     match=f'the replay server at {server.address} did not answer for'):
    connection.call(lambda: connection.table_size(TABLE), 'reading')
  # The probe that finds it gone, then the bound (its last backoff sleep cut short).
  assert time.monotonic() - start < replay_connection.PROBE_TIMEOUT_S + 2 + 1


def test_a_first_connection_to_no_server_gives_up_within_its_bound():
  start = time.monotonic()
  with pytest.raises(ReplayServerUnreachable):
    ReplayConnection(f'localhost:{free_port()}', reconnect_timeout_s=1)
  assert time.monotonic() - start < 1 + 1


def test_a_connection_sees_a_server_that_starts_after_it_began_waiting_at_once():
  """At every start of a run the replay server is the last program up; the others must see it
  as soon as it listens, not after a gRPC channel's own reconnect backoff (seconds)."""
  port = free_port()
  started = []

  def start_server():
    time.sleep(3)
    started.append((reverb.Server([reverb.Table.queue('q', 1)], port=port), time.monotonic()))

  threading.Thread(target=start_server).start()
  ReplayConnection(f'localhost:{port}', reconnect_timeout_s=30)
  server, listening_at = started[0]
  try:
    assert time.monotonic() - listening_at < 0.5
  finally:
    server.stop()
