"""A worker's side of the iteration protocol against a real Reverb server with the run's tables
and the trainer's side publishing: a worker follows publications, not iteration numbers, pulls
each one's policy, its reports reach the trainer, and when the server restarted under it, it
abandons the iteration and follows the next publication. A waiting worker is woken by the
trainer's notice, not by a poll or its wait's timeout."""
import socket
import threading
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf

from tfagents_system.protocol import queue_reader
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol import worker_side
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.protocol.replay_connection import ReplayServerLost
from tfagents_system.protocol.trainer_side import TrainerSync
from tfagents_system.protocol.worker_side import WorkerSync
from tfagents_system.trainer.trainer_replay import TrainerReplay

REPORT_LAYOUT = ReportLayout(('mass',))
BOUND_S = 60


def free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def synced_variables(value):
  return replay_tables.synced_variables([tf.Variable(np.full(3, value, np.float32))],
                                        tf.Variable(int(value), dtype=tf.int64))


class Run:
  """The run's tables on a port, a trainer's side publishing and a worker's side following."""

  def __init__(self, num_workers=1):
    self.port = free_port()
    self.specs = replay_tables.TableSpecs(
        item_bytes=8, capacity_episodes=10, policy_variables=[[[3], 'float32']],
        train_step=[[], 'int64'], report_length=WorkerReport.array_length(REPORT_LAYOUT))
    self.start_server()
    address = f'localhost:{self.port}'
    self.trainer_variables = synced_variables(0)
    replay = TrainerReplay({'x': tf.TensorSpec([1], tf.float32)}, 2, 10, 2)
    self.trainer = TrainerSync(ReplayConnection(address, BOUND_S), self.trainer_variables,
                               num_workers, REPORT_LAYOUT, replay, 2, BOUND_S)
    self.worker_connection = ReplayConnection(address, BOUND_S)
    self.worker = WorkerSync(self.worker_connection, REPORT_LAYOUT)
    self.other_workers = [WorkerSync(ReplayConnection(address, BOUND_S), REPORT_LAYOUT)
                          for _ in range(num_workers - 1)]

  def start_server(self):
    self.server = reverb.Server(replay_tables.make_tables(self.specs), port=self.port)

  def publish(self, iteration, value):
    for variable in tf.nest.flatten(self.trainer_variables):
      variable.assign(tf.cast(tf.fill(tf.shape(variable), value), variable.dtype))
    self.trainer.publish(iteration)

  def next_iteration(self):
    """The worker's wait for the next publication, bounded."""
    return self.next_iterations([self.worker], lambda: None)[0]

  def next_iterations(self, workers, publish):
    """What each of `workers` sees as the next publication once they wait and `publish()`
    ran, bounded."""
    results = [[] for _ in workers]
    waits = [threading.Thread(target=lambda w=w, r=r: r.append(w.wait_for_next_iteration()),
                              daemon=True) for w, r in zip(workers, results)]
    for wait in waits:
      wait.start()
    publish()
    for wait in waits:
      wait.join(BOUND_S)
    assert all(results), 'no new publication seen'
    return [result[0] for result in results]


@pytest.fixture
def run():
  run = Run()
  yield run
  run.server.stop()


def test_a_worker_follows_every_publication_once_with_its_policy(run):
  pulled = synced_variables(-1)
  for iteration, value in ((0, 1.0), (0, 2.0), (1, 3.0), (0, 4.0)):  # again; then a trainer
    run.publish(iteration, value)                                    # resumed from iteration 0
    assert run.next_iteration() == iteration
    run.worker.update_policy(pulled)
    np.testing.assert_array_equal(pulled[replay_tables.POLICY_KEY][0].numpy(), [value] * 3)
    assert int(pulled[replay_tables.TRAIN_STEP_KEY].numpy()) == int(value)


def test_a_report_reaches_the_trainer_as_the_answer_to_its_publication(run):
  run.publish(2, 1.0)
  assert run.next_iteration() == 2
  run.worker.report(WorkerReport(0, 2, env_steps=40, collect_episodes=2, collect_return_sum=-6.0,
                                 collect_length_sum=40, curriculum={'mass': 1.5}))
  summary = run.trainer.gather(2, threading.Event())
  assert summary.missing_workers == []
  report, = summary.reports
  assert report.publication == run.trainer.publication
  assert (summary.env_steps, summary.collect_return, summary.curriculum) == (40, -3.0,
                                                                             {'mass': 1.5})


def test_a_worker_whose_server_restarted_abandons_its_iteration_and_follows_the_next(run):
  run.publish(0, 1.0)
  assert run.next_iteration() == 0
  run.server.stop()
  run.start_server()  # empty: the policy and the publication the worker followed are gone
  with pytest.raises(ReplayServerLost):
    run.worker_connection.call(lambda: run.worker.update_policy(synced_variables(-1)),
                               'working on iteration 0', attempts=1)
  run.publish(0, 2.0)  # the trainer's publication again, on the new server
  assert run.next_iteration() == 0
  pulled = synced_variables(-1)
  run.worker.update_policy(pulled)
  np.testing.assert_array_equal(pulled[replay_tables.POLICY_KEY][0].numpy(), [2.0] * 3)


def test_a_waiting_worker_is_woken_by_the_publication(monkeypatch):
  monkeypatch.setattr(worker_side, 'NOTICE_WAIT_MS', 1000 * BOUND_S)  # no timeout to wake it
  run = Run()
  try:
    run.publish(0, 1.0)
    assert run.next_iteration() == 0
    publisher = threading.Timer(1.0, run.publish, [1, 2.0])
    start = time.monotonic()
    publisher.start()
    assert run.next_iteration() == 1
    publisher.join(BOUND_S)
    assert time.monotonic() - start < BOUND_S / 2
  finally:
    run.server.stop()


def test_workers_back_to_waiting_at_once_each_get_a_notice_of_every_publication(monkeypatch):
  # Neither the iteration table nor the wait's timeout would tell a worker whose notice another
  # worker's sampler took: it would wait until the bound.
  monkeypatch.setattr(worker_side, 'NOTICE_WAIT_MS', 1000 * BOUND_S)
  run = Run(num_workers=3)
  pulled_tables = []
  pull = run.worker_connection.pull
  monkeypatch.setattr(run.worker_connection, 'pull',
                      lambda table: pulled_tables.append(table) or pull(table))
  try:
    workers = [run.worker] + run.other_workers
    for iteration in range(6):
      def publish(i=iteration):
        time.sleep(1.0)  # all waiting on their notices, as workers that just reported are
        run.publish(i, 1.0)
      start = time.monotonic()
      assert run.next_iterations(workers, publish) == [iteration] * 3
      assert time.monotonic() - start < BOUND_S / 2
      if iteration == 0:  # the first wait, before its notice stream was open, may read it
        pulled_tables.clear()
    # Back to waiting at once, each took the iteration from its notice: no table read.
    assert pulled_tables == []
  finally:
    run.server.stop()


def test_the_trainer_is_woken_by_the_last_report(monkeypatch):
  monkeypatch.setattr(queue_reader, 'MISSING_ITEM_TIMEOUT_MS', 1000 * BOUND_S)  # no timeout
  run = Run()
  try:
    run.publish(3, 1.0)
    assert run.next_iteration() == 3
    reporter = threading.Timer(1.0, run.worker.report, [WorkerReport(0, 3, env_steps=7)])
    start = time.monotonic()
    reporter.start()
    summary = run.trainer.gather(3, threading.Event())
    reporter.join(BOUND_S)
    assert summary.missing_workers == [] and summary.env_steps == 7
    assert time.monotonic() - start < BOUND_S / 2
  finally:
    run.server.stop()
