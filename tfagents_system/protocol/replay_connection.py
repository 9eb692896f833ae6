"""The connection to a run's Reverb server, and the one rule for when a failed call is retried.

A call is retried only when the replay server went away: it does not answer, or it answers but
is a new instance (supervise restarted it, so what the call was doing is lost). Any other error,
e.g. one raised by the user's environment inside a collect loop, is raised as it is, so the
program crashes with its traceback in its log. Reconnecting gives up after a bound, with an
error naming the address and how long it tried.
"""
import socket
import time
from typing import Callable, Optional, TypeVar

from absl import logging
import reverb
from tf_agents.experimental.distributed import reverb_variable_container

from tfagents_system.protocol.replay_tables import ITERATION_TABLE
from tfagents_system.protocol.replay_tables import VARIABLE_TABLE

T = TypeVar('T')
PROBE_TIMEOUT_S = 5
WRITE_TIMEOUT_S = 5
PORT_POLL_S = 0.05


class ReplayServerUnreachable(RuntimeError):
  """The replay server did not answer within the reconnect bound."""


class ReplayServerLost(RuntimeError):
  """A call gave up because the replay server went away under it (its work is lost)."""


class ReplayConnection:
  """A program's one connection to the replay server, holding every Reverb client the program
  uses; it reconnects, within a bound, when the server restarts.

  Its server operations (table_info, write_items, reset, checkpoint, trajectory_writer,
  and push, pull and update of the tables of tensors) are single calls; `call` runs a piece of
  work made of them under the retry rule. `same_server()` tells, once the server answers, whether it is still the
  instance the caller's work lives on (each side of the iteration sync sets it: the publication
  it knows is there). Hooks added with `on_reconnect` rebuild what holds a stream of its own
  (writers, datasets).
  """

  def __init__(self, address: str, reconnect_timeout_s: float):
    self.address = address
    self._reconnect_timeout_s = reconnect_timeout_s
    self.same_server: Callable[[], bool] = lambda: True
    self._reconnect_hooks = []
    self._client = self._wait_for_server()
    # TensorFlow's own client, made once used: a server without the protocol's tables has none.
    self._container = None

  def on_reconnect(self, hook: Callable[[], None]) -> None:
    self._reconnect_hooks.append(hook)

  def table_info(self, table: str) -> reverb.reverb_types.TableInfo:
    return self._client.server_info()[table]

  def table_size(self, table: str) -> int:
    return self.table_info(table).current_size

  def write_items(self, data, table: str, count: int) -> None:
    """`count` items of `table`, each the array `data`, written once the call returns. A server
    that does not confirm them within WRITE_TIMEOUT_S raises (a trajectory writer would wait for
    a server that went away for as long as it takes, and so would Reverb's Client.insert)."""
    writer = self._client.trajectory_writer(num_keep_alive_refs=1)
    try:
      writer.append(data)
      for _ in range(count):
        writer.create_item(table, 1.0, writer.history[-1])
      writer.flush(timeout_ms=int(WRITE_TIMEOUT_S * 1000))
    finally:
      writer.close()

  def reset(self, table: str) -> None:
    self._client.reset(table)

  def checkpoint(self) -> str:
    """A checkpoint of the server's tables; returns its path."""
    return self._client.checkpoint()

  def trajectory_writer(self, num_keep_alive_refs: int) -> reverb.TrajectoryWriter:
    return self._client.trajectory_writer(num_keep_alive_refs)

  def push(self, values, table: str) -> None:
    """Makes the nest of tensors `values` the item of `table` (VARIABLE_TABLE, ITERATION_TABLE)."""
    self._variable_container().push(values, table)

  def pull(self, table: str):
    """The item of `table` (VARIABLE_TABLE, ITERATION_TABLE), a nest of tensors."""
    return self._variable_container().pull(table)

  def update(self, variables, table: str) -> None:
    """Assigns the item of `table` (VARIABLE_TABLE, ITERATION_TABLE) to the nest `variables`."""
    self._variable_container().update(variables, table)

  def _variable_container(self) -> reverb_variable_container.ReverbVariableContainer:
    if self._container is None:
      self._container = reverb_variable_container.ReverbVariableContainer(
          self.address, table_names=[VARIABLE_TABLE, ITERATION_TABLE])
    return self._container

  def _wait_for_server(self) -> reverb.Client:
    """A client of the server, once it answers; retries with backoff while it (re)starts.

    A gRPC channel that failed to connect tries again on a backoff of its own (seconds), so a
    server that starts meanwhile would be seen seconds late (at every start of a run, the
    replay server being the last program up): the port is polled first, and the client made
    once it accepts connections."""
    start = time.monotonic()
    delay = 0.1
    while True:
      try:
        wait_until_listening(self.address, start + self._reconnect_timeout_s)
        client = reverb.Client(self.address)
        client.server_info(timeout=PROBE_TIMEOUT_S)
        return client
      except Exception as e:  # pylint: disable=broad-except
        waited = time.monotonic() - start
        if waited + delay > self._reconnect_timeout_s:
          raise ReplayServerUnreachable(
              f'the replay server at {self.address} did not answer for {waited:.0f} s '
              f'({type(e).__name__}: {_first_line(e)})') from None
        logging.info('Waiting %.1fs for the replay server at %s: %s', delay, self.address,
                     _first_line(e))
        time.sleep(delay)
        delay = min(delay * 2, 10.0)

  def _reconnect(self) -> None:
    self._client = self._wait_for_server()
    self._container = None
    for hook in self._reconnect_hooks:
      hook()

  def _server_went_away(self) -> bool:
    """After a failed call: True (and reconnected) when the server does not answer or is a
    new instance; False when the same server answers, so the failure was not the connection's."""
    try:
      self._client.server_info(timeout=PROBE_TIMEOUT_S)
      if self.same_server():
        return False
    except Exception:  # pylint: disable=broad-except
      pass
    self._reconnect()
    return True

  def call(self, fn: Callable[[], T], what: str, attempts: Optional[int] = None) -> T:
    """Runs `fn`; while the server went away, reconnects and runs it again (`attempts` at most,
    then ReplayServerLost). Raises the call's own error when the server was not the cause."""
    attempt = 0
    while True:
      attempt += 1
      try:
        return fn()
      except Exception as e:  # pylint: disable=broad-except
        if not self._server_went_away():
          raise
        if attempt == attempts:
          raise ReplayServerLost(f'the replay server went away while {what}') from e
        logging.warning('The replay server went away while %s (%s: %s); reconnected', what,
                        type(e).__name__, _first_line(e))


def wait_until_listening(address: str, deadline: float) -> None:
  """Returns once `address` (host:port) accepts TCP connections; raises OSError when it still
  does not at `deadline` (time.monotonic())."""
  host, port = address.rsplit(':', 1)
  while True:
    try:
      socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
      return
    except OSError:
      if time.monotonic() > deadline:
        raise
      time.sleep(PORT_POLL_S)


def _first_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()
  return lines[0] if lines else ''
