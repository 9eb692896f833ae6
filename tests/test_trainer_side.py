"""The trainer's side of the iteration protocol, in one process with the workers' sides in threads,
against the real replay server program with the run's tables, restarted empty (before its first
checkpoint) in the middle of the initial collection and in the middle of the SGD steps."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import reverb

from tfagents_system import workers
from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.common.cpu_turns import CpuTurns
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import preflight
from tfagents_system.protocol import iteration_sync
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol import trainer_side
from tfagents_system.protocol import worker_side
from tfagents_system.protocol.replay_connection import ReplayConnection
from tfagents_system.trainer.trainer_replay import TrainerReplay

from training_run import REPO

BOUND_S = 120  # every wait of the test; the protocol's own waits are far shorter

NUM_WORKERS = 2
NUM_ITER = 3
PARAMS = 'tests/params/gated_params.py'
CONFIG = 'config/point_mass.json'


def free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


class ReplayServer:
  """The run's replay server program, killed by PID and started again empty on the same port
  (there is no checkpoint yet), as supervise restarts it; its tables are made from the run spec
  the launcher's checks write."""

  def __init__(self, root_dir):
    preflight.save_run_spec(ExperimentDir(root_dir), preflight.check_run(PARAMS, CONFIG, 0))
    self.port = free_port()
    self._command = [sys.executable, '-m', 'tfagents_system.sac_replay_buffer',
                     f'--root_dir={root_dir}', f'--port={self.port}']
    self.restarts = 0
    self._start()

  def _start(self):
    self.process = subprocess.Popen(self._command, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    client = reverb.Client(f'localhost:{self.port}')
    deadline = time.monotonic() + BOUND_S
    while True:
      try:
        client.server_info(timeout=1)
        break
      except Exception:  # pylint: disable=broad-except  # not listening yet
        if time.monotonic() > deadline or self.process.poll() is not None:
          self.kill()
          raise
        time.sleep(0.2)
    self._client = client

  @property
  def client(self):
    return self._client

  @property
  def episodes(self):
    return self._client.server_info()[replay_tables.EXPERIENCE_TABLE].current_size

  def restart_empty(self):
    self.kill()
    self._start()
    self.restarts += 1

  def kill(self):
    os.kill(self.process.pid, signal.SIGKILL)
    self.process.wait()


@pytest.fixture
def run(tmp_path):
  params = params_loading.load_train_params(PARAMS, CONFIG)
  gate = type(params).env_ctor.__globals__['GatedEnv'].gate  # the params file's own module
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  server = ReplayServer(tmp_path)
  address = f'localhost:{server.port}'
  layout = iteration_sync.ReportLayout.of(params)

  worker_threads, errors = [], []
  for index in range(NUM_WORKERS):
    def follow(index=index):
      try:
        connection = ReplayConnection(address, params.replay_reconnect_timeout_s)
        worker = workers.CollectWorker(params, index, NUM_WORKERS, connection, 0, 0)
        # Turns of their own: a worker held by the gate must not hold up the others'.
        turns = CpuTurns(str(tmp_path / 'cpu_turns'), BOUND_S, cpus=[index])
        workers.follow_iterations(worker, worker_side.WorkerSync(connection, layout),
                                  connection, turns, NUM_ITER)
      except Exception as e:  # pylint: disable=broad-except
        errors.append(e)
    worker_threads.append(threading.Thread(target=follow, daemon=True))
  for thread in worker_threads:
    thread.start()
  try:
    replay = TrainerReplay(agent.collect_data_spec, params.train_sequence_length,
                           params.replay_capacity, params.train_batch_size)
    sync = trainer_side.TrainerSync(
        ReplayConnection(address, params.replay_reconnect_timeout_s),
        replay_tables.synced_variables(agent.collect_policy.variables(), train_step),
        NUM_WORKERS, layout, replay, params.train_batch_size, params.worker_report_timeout_s)
    yield sync, server, params, gate
    gate.set()
    sync.publish(NUM_ITER)  # workers see that training is over
    for thread in worker_threads:
      thread.join(BOUND_S)
    assert not any(t.is_alive() for t in worker_threads)
    assert not errors, errors
  finally:
    gate.set()
    server.kill()


def consume_batches(between=lambda k: None):
  """A run_steps for TrainerSync.train: takes batches, calling `between(k)` after the k-th."""
  taken = []
  def run_steps(replay, steps):
    for _ in range(steps):
      batch = next(replay)
      taken.append(batch)
      between(len(taken) - 1)
    return batch
  return run_steps


def test_server_restarted_during_the_initial_collection_and_the_sgd_steps(run):
  sync, server, params, gate = run
  no_stop = threading.Event()

  # Worker 0 reports its initial episodes; worker 1 is held, so the trainer is still
  # gathering when the server restarts empty and loses worker 0's experience.
  sync.publish(iteration_sync.INIT_ITERATION)
  gathering = threading.Thread(target=lambda: results.append(
      sync.gather(iteration_sync.INIT_ITERATION, no_stop)), daemon=True)
  results = []
  gathering.start()
  for _ in range(BOUND_S * 10):
    if server.episodes >= params.n_buffer_init_episodes // NUM_WORKERS:
      break
    threading.Event().wait(0.1)
  server.restart_empty()
  gate.set()
  gathering.join(BOUND_S)
  assert not gathering.is_alive()
  initial = results[0]
  assert initial.missing_workers == [] and len(initial.reports) == NUM_WORKERS
  # Both shares are in the new server: worker 0 collected its share again.
  assert server.episodes >= params.n_buffer_init_episodes

  for iteration in range(NUM_ITER):
    sync.publish(iteration)
    restart_mid_sgd = (lambda k: server.restart_empty() if k == 2 and not server.restarts > 1
                       else None)
    batch = sync.train(consume_batches(restart_mid_sgd if iteration == 1 else lambda k: None),
                       8, iteration, no_stop)
    assert batch.observation.shape[0] == params.train_batch_size
    summary = sync.gather(iteration, no_stop)
    assert summary.missing_workers == [], iteration
    assert {r.iteration for r in summary.reports} == {iteration}
    assert summary.curriculum == Curriculum.from_env_config(params.env_config).values_at(iteration)
    # Workers evaluate at iteration 0 and report the env's measures of those episodes.
    assert set(summary.eval_measures) == ({'final_distance'} if iteration == 0 else set())
  assert server.restarts == 2
  # The restart mid-SGD emptied the server, not the trainer's replay: it has all it took in.
  # (The last iteration's experience may still be on its way.)
  assert sync.replay.size >= (params.n_buffer_init_episodes + (NUM_ITER - 1) * NUM_WORKERS
                              * params.n_train_episodes_per_iter) * (params.episode_length - 1)


def test_reports_of_an_earlier_publication_are_not_counted(run):
  # Workers that did not notice the replay server restart report, to the new server, the
  # iteration published on the old one: part of their experience went with the old server.
  sync, server, _, gate = run
  no_stop = threading.Event()
  gate.set()
  sync.publish(iteration_sync.INIT_ITERATION)
  earlier = sync.publication
  reports = lambda: server.client.server_info()[replay_tables.REPORT_TABLE].current_size
  for _ in range(BOUND_S * 10):
    if reports() == NUM_WORKERS:
      break
    threading.Event().wait(0.1)
  assert reports() == NUM_WORKERS
  sync.publish(iteration_sync.INIT_ITERATION)  # again, as after the restart
  summary = sync.gather(iteration_sync.INIT_ITERATION, no_stop)
  assert summary.missing_workers == []
  assert [r.publication for r in summary.reports] == [sync.publication] * NUM_WORKERS
  assert sync.publication != earlier


def test_a_replay_short_of_a_batch_that_does_not_grow_is_refilled(run):
  sync, _, params, gate = run
  no_stop = threading.Event()
  gate.set()
  # No initial collection at all: the buffer is empty when the SGD steps start.
  sync.publish(0)
  batch = sync.train(consume_batches(), 1, 0, no_stop)
  assert batch.observation.shape[0] == params.train_batch_size
  assert sync.replay.size >= params.n_buffer_init_episodes * (params.episode_length - 1)
  assert sync.gather(0, no_stop).missing_workers == []


def test_a_stop_while_the_replay_is_short_of_a_batch_returns(run):
  sync, _, _, _ = run
  stop = threading.Event()
  stop.set()
  sync.publish(0)
  assert sync.train(consume_batches(), 1, 0, stop) is None


def test_reads_of_the_small_tables_give_up_on_an_empty_table(run):
  # A server that restarted between a size check and a read: the read must not wait for
  # an insert that only the reader itself would make.
  sync, server, params, _ = run
  layout = iteration_sync.ReportLayout.of(params)
  server.restart_empty()
  address = f'localhost:{server.port}'
  assert trainer_side.read_items(address, replay_tables.ITERATION_TABLE,
                                 replay_tables.ITERATION_SIGNATURE, 1) == []
  assert trainer_side.read_items(address, replay_tables.REPORT_TABLE,
                                 replay_tables.report_signature(
                                     iteration_sync.WorkerReport.array_length(layout)), 2) == []
  sync.publish(0)
  published = trainer_side.read_items(address, replay_tables.ITERATION_TABLE,
                                      replay_tables.ITERATION_SIGNATURE, 1)
  assert int(published[0][replay_tables.ITERATION_KEY]) == 0


