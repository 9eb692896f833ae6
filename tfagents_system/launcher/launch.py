"""Starts a training run: checks every input, plans CPUs, runs the N+2 programs as
daemontools services under one svscan, shows progress, and stops everything at the end.

Called by train_script.sh with the variables of a training_variables file in the
environment (see run_settings.py).
"""
import os
import shutil
import signal
import socket
import sys
import time
from typing import Dict

from tfagents_system import REPO_ROOT
from tfagents_system.common import experiment_dir
from tfagents_system.common import thread_pools
from tfagents_system.launcher import cpu_plan
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import exit_codes
from tfagents_system.launcher import progress_display
from tfagents_system.launcher import run_guard
from tfagents_system.launcher import run_lock
from tfagents_system.launcher import run_stop
from tfagents_system.launcher import run_watch
from tfagents_system.launcher import slurm_job
from tfagents_system.launcher.progress_display import quiet_terminal
from tfagents_system.launcher.run_settings import RunSettings

PYTHON = sys.executable


class LaunchError(RuntimeError):
  """Why a run could not start, in one line."""


def check_inputs(settings: RunSettings):
  """Loads params and config and tries the envs the way the programs will; returns the run spec
  and the params."""
  with quiet_terminal():
    # Imported here: TensorFlow is slow to import, and the settings errors
    # found before this should not wait for it.
    from tfagents_system.common import params_loading  # pylint: disable=g-import-not-at-top
    from tfagents_system.launcher import preflight  # pylint: disable=g-import-not-at-top
    spec = preflight.check_run(settings.params, settings.config, settings.run_seed,
                               settings.overrides)
    return spec, params_loading.load_train_params(settings.params, settings.config,
                                                  settings.overrides)


def open_experiment(settings: RunSettings, spec,
                    lock: run_lock.RunLock) -> experiment_dir.ExperimentDir:
  """The run's dir, locked: resumed if it holds the same run, renamed away with SAC_FRESH=1."""
  from tfagents_system.launcher import preflight  # pylint: disable=g-import-not-at-top
  experiment = experiment_dir.ExperimentDir(settings.exp_dir)
  holds_a_run = os.path.exists(experiment.root) and os.listdir(experiment.root) != [
      os.path.basename(experiment.lock_file)]
  if settings.fresh and holds_a_run:
    kept = f'{experiment.root}_{time.strftime("%Y%m%d-%H%M%S")}'
    os.rename(experiment.root, kept)
    print(f'starting over: the previous run is kept in {kept}')
  elif preflight.check_resumable(experiment, spec):
    print(f'resuming the run in {experiment.root}')
  lock.acquire()
  preflight.save_run_spec(experiment, spec)
  return experiment


def choose_port(requested) -> int:
  """The replay server's port: `requested` (SAC_REVERB_PORT) if an IPv4 socket can bind it on
  every address now, else LaunchError; without a request, a port the kernel hands such a socket
  (from its ephemeral range). Only a check, and of IPv4 alone: the socket closes at once, and the
  replay server binds the port seconds later on every IPv4 and IPv6 address (gRPC's [::]). A port
  taken meanwhile, or held on IPv6 only, makes it crash at every start, which the crash-loop rule
  stops the run for (run_watch.py)."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    try:
      s.bind(('', requested or 0))
    except OSError:
      raise LaunchError(f'Reverb port {requested} is already in use (SAC_REVERB_PORT)') from None
    return s.getsockname()[1]


def write_services(settings: RunSettings, experiment: experiment_dir.ExperimentDir,
                   plan: cpu_plan.CpuPlan, port: int,
                   remote: Dict[int, slurm_job.RemoteWorker], reverb_host: str) -> None:
  """One service per program; a worker in `remote` is started by srun on its node and reaches
  the replay server at `reverb_host`."""
  from tfagents_system.common.params_loading import resolve_path  # pylint: disable=g-import-not-at-top
  shutil.copyfile(resolve_path(settings.params), experiment.params_copy)
  shutil.copyfile(resolve_path(settings.config), experiment.config_copy)
  if settings.variables_file:
    shutil.copyfile(settings.variables_file, experiment.variables_copy)
  experiment.write_params_overrides(settings.overrides)  # every program applies them
  shutil.rmtree(experiment.services_dir, ignore_errors=True)  # stale supervise state

  dir_flags = [f'--root_dir={experiment.root}', '--logtostderr']
  # The replay server's tables come from the run spec in the dir; the others load TrainParams.
  params_flags = [f'--params={resolve_path(settings.params)}',
                  f'--config={resolve_path(settings.config)}',
                  f'--num_workers={settings.num_workers}',
                  f'--run_seed={settings.run_seed}']
  address = f'--reverb_address=localhost:{port}'
  env = {'PYTHONPATH': REPO_ROOT, 'PYTHONUNBUFFERED': '1'}
  programs = {  # name: (command, CPUs, environment)
      experiment_dir.REPLAY_PROGRAM: (
          [PYTHON, '-m', 'tfagents_system.sac_replay_buffer', f'--port={port}'],
          plan.cpus_of(experiment_dir.REPLAY_PROGRAM), env),
      experiment_dir.TRAIN_PROGRAM: (
          [PYTHON, '-m', 'tfagents_system.sac_train', address] + params_flags,
          plan.cpus_of(experiment_dir.TRAIN_PROGRAM), env),
  }
  for i in range(settings.num_workers):
    name = experiment_dir.collect_program(i)
    worker = [PYTHON, '-m', 'tfagents_system.sac_collect']
    if i in remote:
      # SLURM pins it on its node and sets SLURM_PROCID to the step's task (0): env sets ours.
      programs[name] = (remote[i].srun_command(name) + ['env', f'SLURM_PROCID={i}'] + worker
                        + [f'--reverb_address={reverb_host}:{port}'] + params_flags,
                        None, dict(env, **thread_pools.environment(remote[i].cpus)))
    else:
      programs[name] = (worker + [address] + params_flags, plan.cpus_of(name),
                        dict(env, SLURM_PROCID=str(i)))
  for name, (command, cpus, program_env) in programs.items():
    daemontools.write_service(experiment.service_dir(name), command + dir_flags, cpus,
                              program_env, experiment.log_dir(name))


# Less free space than this is a full disk: too little for even status.json.
FULL_DISK_BYTES = 1 << 20


def disk_is_full(experiment: experiment_dir.ExperimentDir) -> bool:
  return shutil.disk_usage(experiment.root).free < FULL_DISK_BYTES


def full_disk_failure(experiment: experiment_dir.ExperimentDir) -> str:
  step = experiment.latest_trainer_checkpoint_step()
  kept = ('no checkpoint had been written yet' if step is None else
          f'the last good checkpoint (train step {step}) is kept')
  return (f'the disk holding {experiment.root} is full: training stopped and {kept}; '
          'free some space and run again to resume')


class StopRequested(Exception):
  pass


def _stop_on_signals():
  """Ctrl-C, SIGTERM, and a closed terminal or SSH session (SIGHUP, unless the launcher runs
  under nohup, which says the run must outlive the terminal) raise StopRequested, once: a second
  signal (a closing terminal sends SIGHUP twice) must not interrupt the stop."""
  hangup = [] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else [signal.SIGHUP]
  stop_signals = [signal.SIGINT, signal.SIGTERM] + hangup

  def raise_stop(signum, _):
    ignore_stop_signals()
    raise StopRequested(signal.Signals(signum).name)

  def ignore_stop_signals():
    for signum in stop_signals:
      signal.signal(signum, signal.SIG_IGN)

  for signum in stop_signals:
    signal.signal(signum, raise_stop)
  return ignore_stop_signals


COMPLETED, STOPPED, FAILED = 'completed', 'stopped', 'failed'


def supervise_run(experiment: experiment_dir.ExperimentDir, programs, watch: run_watch.RunWatch,
                  guard: run_guard.Guard, display) -> str:
  """Runs the services until the trainer is done, the run cannot heal, or a stop is asked for."""
  svscan = daemontools.Svscan(experiment.services_dir)
  service_dirs = [experiment.service_dir(p) for p in programs]
  ignore_stop_signals = _stop_on_signals()
  started = time.time()
  failure = None
  try:
    svscan.start()
    svscan.wait_until_supervised()
    while True:
      status = experiment.read_status()
      display.update(status)
      # A resumed run's status.json says how the previous one ended until the trainer rewrites it.
      current = status if status and status.get('updated', 0) >= started else {}
      if disk_is_full(experiment):
        # Nothing can be saved any more, and svstat goes stale: supervise cannot write its state.
        display.message(f'error: {full_disk_failure(experiment)}')
        return FAILED
      services = dict(zip(programs, daemontools.svstat_all(service_dirs)))
      trainer = services[experiment_dir.TRAIN_PROGRAM]
      if current.get('failed'):
        display.message(f"error: {current['failed']}")
        return FAILED
      if trainer.wanted_down and not current.get('done'):
        display.message('error: the trainer stopped before the end; see '
                        f'{experiment.log_file(experiment_dir.TRAIN_PROGRAM)}')
        return FAILED
      if trainer.wanted_down:
        return COMPLETED
      if not svscan.running():
        display.message('svscan stopped unexpectedly; stopping the run')
        return FAILED
      failure = watch.observe(time.monotonic(), services, status)
      if failure:
        display.message(f'error: {failure.message(experiment.log_file(failure.program))}')
        return FAILED
      time.sleep(1.0)
  except StopRequested as stop:
    display.message(f'{stop}: stopping every program')
    return STOPPED
  finally:
    ignore_stop_signals()
    ended = run_stop.stop_run(
        experiment, svscan, keep=[guard.pid],
        trainer_can_checkpoint=not failure or failure.program != experiment_dir.REPLAY_PROGRAM)
    if ended:
      display.message(f'warning: ended by PID what was left of the run after the stop: '
                      f'{", ".join(ended)}')


def main() -> int:
  os.umask(0o077)  # the experiment dir is its user's alone
  display = progress_display.ProgressDisplay(sys.stdout)
  try:
    settings = RunSettings.from_environ(os.environ)
    lock = run_lock.RunLock(settings.exp_dir)
    if os.path.isdir(settings.exp_dir):
      lock.acquire()  # a dir in use is refused before the slow checks
    spec, params = check_inputs(settings)
    # In a job on several nodes, this (first) node runs the replay server and the trainer and
    # the workers run on the others.
    nodes = slurm_job.JobNodes.of_job(os.environ)
    remote = nodes.place_workers(settings.num_workers, settings.worker_cpus,
                                 settings.strict_cpus) if nodes else {}
    plan = cpu_plan.plan_run(sorted(os.sched_getaffinity(0)), settings.reverb_cpus,
                             settings.train_cpus, settings.worker_cpus,
                             [i for i in range(settings.num_workers) if i not in remote],
                             settings.strict_cpus)
    port = choose_port(settings.reverb_port)
    experiment = open_experiment(settings, spec, lock)
  except (ValueError, LaunchError) as e:  # every input error type derives from these
    print(f'error: {e}', file=sys.stderr)
    return exit_codes.BAD_INPUTS
  # From here on, the run stops even if this process is killed.
  guard = run_guard.Guard(experiment, lock)
  if plan.shared:
    display.message(f'warning: {sum(len(c) for c in plan.assignments.values())} CPUs requested '
                    f'but only {len(os.sched_getaffinity(0))} available; programs share CPUs '
                    f'({plan.sharing()}; workers on the same CPUs take turns)')
  for node in sorted({worker.node for worker in remote.values() if worker.shared}):
    display.message(f'warning: the workers on node {node} need more CPUs than the job has '
                    'there; they share them')
  write_services(settings, experiment, plan, port, remote,
                 nodes.this_node if nodes else 'localhost')
  for name, cpus in plan.assignments.items():
    display.message(f'{name:<20} CPUs {cpu_plan.format_cpu_list(cpus)}')
  for i, worker in remote.items():
    display.message(f'{experiment_dir.collect_program(i):<20} on node {worker.node} with srun, '
                    f'{worker.cpus} of its CPUs')
  display.message(f'experiment dir {experiment.root}; logs in {experiment.root}/logs/<program>/current')
  if settings.overrides:
    display.message(f'TrainParams overrides: {experiment_dir.format_overrides(settings.overrides)}'
                    f' (run seed {settings.run_seed})')
  watch = run_watch.RunWatch(params.worker_report_timeout_s, time.monotonic())
  outcome = supervise_run(experiment, experiment_dir.program_names(settings.num_workers), watch,
                          guard, display)
  guard.release()
  display.finish(experiment, settings, outcome == COMPLETED)
  return exit_codes.RUN_FAILED if outcome == FAILED else exit_codes.ENDED


if __name__ == '__main__':
  sys.exit(main())
