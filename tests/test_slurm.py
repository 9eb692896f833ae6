"""Training runs as SLURM jobs on a cluster brought up on this machine: a job, an array, a
preempted and requeued job, a cancelled one, and a job on two nodes whose worker runs in a
network namespace."""
import copy
import glob
import os
import signal
import re
import subprocess
import time

import pytest

from slurm_cluster import NetworkNamespace
from slurm_cluster import Node
from slurm_cluster import SlurmCluster
from slurm_cluster import install_slurm
from tfagents_system.cpu_plan import parse_cpu_list
from training_run import REPO
from training_run import TrainingRun

PROGRAMS = ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1')
ENDED = ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY')


def _skip(pytestconfig, reason):
  """Skips, saying why on the terminal too: the tests' output is captured."""
  with pytestconfig.pluginmanager.get_plugin('capturemanager').global_and_fixture_disabled():
    print(f'\nSLURM tests skipped: {reason}')
  pytest.skip(reason)


@pytest.fixture(scope='session')
def slurm_cluster(pytestconfig):
  """A one-node cluster: this machine, as node 'localhost'."""
  reason = install_slurm()
  if reason:
    _skip(pytestconfig, reason)
  cluster = SlurmCluster([Node('localhost', '127.0.0.1')])
  try:
    cluster.start()
    yield cluster
  finally:
    cluster.stop()


@pytest.fixture(scope='session')
def two_node_cluster(pytestconfig):
  """node1 is this machine; node2 runs in a network namespace, reached through a veth pair,
  where 'node1' resolves to this side's address."""
  reason = install_slurm()
  if reason:
    _skip(pytestconfig, reason)
  namespace = NetworkNamespace()
  try:
    namespace.create()
  except (OSError, subprocess.CalledProcessError) as e:
    namespace.delete()
    _skip(pytestconfig, f'cannot create a network namespace here: {getattr(e, "stderr", e)}')
  cluster = SlurmCluster(
      [Node('node1', namespace.host_address),
       Node('node2', namespace.address, namespace, hosts={'node1': namespace.host_address})],
      controller_address=namespace.host_address)
  try:
    cluster.start()
    yield cluster, namespace
  finally:
    cluster.stop()
    namespace.delete()


def submit(cluster, run, *sbatch_options):
  """./slurm/submit.sh <variables file> [sbatch options]: (job id, what it printed)."""
  return cluster.submit([os.path.join(REPO, 'slurm', 'submit.sh'), str(run.variables_file),
                         *sbatch_options])


def cpus_allowed(pid):
  """The CPUs a program may run on; None while its run file has not exec'd it yet (before
  taskset pins it) or once it has ended."""
  try:
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      command = os.path.basename(f.read().split(b'\0')[0].decode())
    with open(f'/proc/{pid}/status') as f:
      cpus = set(parse_cpu_list(re.search(r'Cpus_allowed_list:\s*(\S+)', f.read()).group(1)))
  except (FileNotFoundError, ProcessLookupError):
    return None
  return None if command in ('sh', 'taskset') else cpus


def follow(cluster, job_ids, runs, until=ENDED, watch=None, timeout_s=300):
  """Polls until every job is in a state of `until`; returns ({job id: its scontrol fields then},
  {job id: its fields while it ran}, {(exp dir, program): the CPUs the program was pinned to})
  and calls `watch` on every poll."""
  ended, running, pinned = {}, {}, {}
  deadline = time.monotonic() + timeout_s
  while True:
    for job_id in job_ids:
      job = cluster.job(job_id)
      if job.get('JobState') == 'RUNNING':
        running.setdefault(job_id, job)
      ended[job_id] = job
    for run in runs:
      for program in PROGRAMS:
        pid = run.program_pid(program)
        cpus = cpus_allowed(pid) if pid else None
        if cpus is not None:
          pinned.setdefault((run.exp_dir, program), cpus)
    if watch:
      watch()
    if all(job.get('JobState') in until for job in ended.values()):
      return ended, running, pinned
    assert time.monotonic() < deadline, f'jobs still running: {ended}'
    time.sleep(0.3)


def allocation(job, node='localhost'):
  return set(parse_cpu_list(job[f'CPU_IDs:{node}']))


def disjoint(cpu_sets):
  return sum(len(c) for c in cpu_sets) == len(set().union(*cpu_sets))


def slurm_output(run, job_name):
  with open(os.path.join(REPO, 'logs', f'slurm-{run.name}-{job_name}.out')) as f:
    return f.read()


def read_log(run, program):
  with open(os.path.join(run.exp_dir, 'logs', program, 'current')) as f:
    return f.read()


def assert_complete(run, num_iter, steps_per_iter):
  status = run.status()
  assert status['done'] and status['iteration'] == num_iter, status
  assert status['train_step'] == num_iter * steps_per_iter
  assert os.path.isdir(os.path.join(run.exp_dir, 'policies', 'greedy_policy'))
  assert glob.glob(os.path.join(run.exp_dir, 'policies', 'checkpoints', 'policy_checkpoint_*'))
  assert glob.glob(os.path.join(run.exp_dir, 'train', 'checkpoints', 'ckpt-*.index'))
  assert glob.glob(os.path.join(run.exp_dir, 'replay_checkpoints', '*'))
  for name in ('params.py', 'config.json', 'training_variables.sh'):
    assert os.path.isfile(os.path.join(run.exp_dir, name))
  assert run.leftover_processes() == []


def cleanup(cluster, job_id, runs):
  """Cancels the job if a failed test left it running, then removes what the runs left."""
  if job_id:
    cluster.run(['scancel', job_id])
    cluster.wait_for_state(job_id, ENDED + ('PENDING',), timeout_s=120)
  for run in runs:
    run.cleanup()
  for path in glob.glob(os.path.join(REPO, 'logs', f'slurm-{runs[0].name}-*.out')):
    os.remove(path)


def test_job_runs_every_program_on_the_cpus_slurm_granted(slurm_cluster, tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 5, 'num_steps_per_iter': 50}, workers=2)
  job_id = None
  try:
    # Fewer CPUs than the run asks for, as this machine has: the launcher shares them.
    cpus = len(os.sched_getaffinity(0))
    job_id, printed = submit(slurm_cluster, run, f'--cpus-per-task={cpus}')
    # The formula (1 + 1 + 2 × 1 + 2), overridden by the option given after it.
    assert re.search(rf'^sbatch --job-name={run.name} .*--cpus-per-task=6 '
                     rf'--cpus-per-task={cpus} \S+/slurm/train.sbatch ', printed, re.M), printed
    ended, running, pinned = follow(slurm_cluster, [job_id], [run])
    output = slurm_output(run, job_id)
    assert ended[job_id]['JobState'] == 'COMPLETED' and ended[job_id]['ExitCode'] == '0:0', output
    assert 'Training complete.' in output
    assert_complete(run, 5, 50)
    granted = allocation(running[job_id])
    assert set(p for _, p in pinned) == set(PROGRAMS), pinned
    assert all(cpus <= granted for cpus in pinned.values()), (pinned, granted)
    if len(granted) >= 4:
      assert disjoint(pinned.values())
    else:
      assert 'programs share CPUs' in output
  finally:
    cleanup(slurm_cluster, job_id, [run])


def test_array_tasks_have_their_own_dirs_seeds_ports_and_cpus(slurm_cluster, tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 3, 'num_steps_per_iter': 50}, workers=1)
  tasks = []
  for task_id in (0, 1):
    task = copy.copy(run)  # the same variables, seen through the task's experiment dir
    task.exp_dir = f'{run.exp_dir}_{task_id}'
    tasks.append(task)
  array_id = None
  try:
    array_id, _ = submit(slurm_cluster, run, '--array=0-1', '--cpus-per-task=1')
    job_ids = [f'{array_id}_{task_id}' for task_id in (0, 1)]
    ended, running, pinned = follow(slurm_cluster, job_ids, tasks)
    for job_id, task in zip(job_ids, tasks):
      assert ended[job_id]['JobState'] == 'COMPLETED', slurm_output(run, job_id)
      assert_complete(task, 3, 50)
      granted = allocation(running[job_id])
      programs = {p: c for (d, p), c in pinned.items() if d == task.exp_dir}
      assert set(programs) == {'sac_replay_buffer', 'sac_train', 'sac_collect_0'}
      assert all(cpus <= granted for cpus in programs.values()), (programs, granted)
    if len(os.sched_getaffinity(0)) >= 2:  # both tasks ran at once, on CPUs of their own
      assert disjoint([allocation(running[job_id]) for job_id in job_ids])
    # Seeds 0 and 1: worker 0's collect env gets 1000 × seed.
    assert 'collect env seed 0,' in read_log(tasks[0], 'sac_collect_0')
    assert 'collect env seed 1000,' in read_log(tasks[1], 'sac_collect_0')
    ports = [re.search(r'listening on port (\d+)', read_log(t, 'sac_replay_buffer')).group(1)
             for t in tasks]
    assert ports[0] != ports[1]
  finally:
    cleanup(slurm_cluster, array_id, tasks)


def test_preempted_job_checkpoints_requeues_and_resumes(slurm_cluster, tmp_path):
  # Checkpoints only at the stop: the resumed run must start from that one.
  run = TrainingRun(tmp_path, {'num_iter': 4, 'num_steps_per_iter': 50,
                               'checkpoint_period_itrs': 1000}, workers=1)
  job_id = None
  try:
    job_id, _ = submit(slurm_cluster, run, f'--cpus-per-task={len(os.sched_getaffinity(0))}')
    deadline = time.monotonic() + 300
    while (run.status() or {}).get('iteration', 0) < 2:
      assert time.monotonic() < deadline and slurm_cluster.job(job_id)['JobState'] != 'COMPLETED'
      time.sleep(0.5)
    # What --signal=B:USR1@<grace> sends before the time limit or a preemption.
    slurm_cluster.run(['scancel', '--signal=USR1', '--batch', job_id], check=True)
    job = slurm_cluster.wait_for_state(job_id, ('PENDING',) + ENDED, timeout_s=180)
    assert job['JobState'] == 'PENDING' and job['Restarts'] == '1', job
    stopped = run.status()
    assert run.leftover_processes() == []
    checkpoint = stopped['checkpoint']
    assert checkpoint['train_step'] == stopped['train_step'] >= 100

    ended, _, _ = follow(slurm_cluster, [job_id], [])
    output = slurm_output(run, job_id)
    assert ended[job_id]['JobState'] == 'COMPLETED', output
    assert f'requeueing job {job_id}' in output
    assert_complete(run, 4, 50)
    train_log = read_log(run, 'sac_train')
    assert f'Stopped at train step {checkpoint["train_step"]}, checkpointed' in train_log
    assert (f'Resuming at iteration {checkpoint["train_step"] // 50} '
            f'(train step {checkpoint["train_step"]})') in train_log
    loaded = re.findall(r'episodes in the replay buffer after loading the latest checkpoint: (\d+)',
                        read_log(run, 'sac_replay_buffer'))
    assert [int(n) for n in loaded] == [0, checkpoint['replay_episodes']]
  finally:
    cleanup(slurm_cluster, job_id, [run])


def test_cancelled_job_is_not_requeued(slurm_cluster, tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 1000}, workers=1)
  job_id = None
  try:
    job_id, _ = submit(slurm_cluster, run, f'--cpus-per-task={len(os.sched_getaffinity(0))}')
    deadline = time.monotonic() + 120
    while run.program_pid('sac_train') is None:  # the launcher supervises the programs
      assert time.monotonic() < deadline
      time.sleep(0.3)
    # SLURM sends SIGTERM to every process, the batch script's too, which stops the run.
    slurm_cluster.run(['scancel', job_id], check=True)
    # The job ends when the batch script does, after it has requeued the job or not.
    job = slurm_cluster.wait_for_state(job_id, ('CANCELLED', 'PENDING'), timeout_s=180)
    assert job['JobState'] == 'CANCELLED' and job['Restarts'] == '0', slurm_output(run, job_id)
    assert 'requeueing' not in slurm_output(run, job_id)
  finally:
    cleanup(slurm_cluster, job_id, [run])


def remote_worker(run):
  """The PID of the worker srun started on the other node, if it runs."""
  for proc in glob.glob('/proc/[0-9]*'):
    try:
      with open(f'{proc}/cmdline', 'rb') as f:
        argv = f.read().decode(errors='replace').split('\0')
    except (FileNotFoundError, ProcessLookupError):
      continue
    if 'tfagents_system.sac_collect' in argv and f'--root_dir={run.exp_dir}' in argv and \
        not argv[0].endswith(('srun', 'env')) and 'tfagents_system.srun_step' not in argv:
      return int(proc.rsplit('/', 1)[1])
  return None


def test_job_on_two_nodes_runs_the_worker_on_the_second(two_node_cluster, tmp_path):
  cluster, namespace = two_node_cluster
  run = TrainingRun(tmp_path, {'num_iter': 12, 'num_steps_per_iter': 50}, workers=1)
  job_id = None
  try:
    job_id, _ = submit(cluster, run, '--nodes=2', f'--cpus-per-task={len(os.sched_getaffinity(0))}')
    worker, killed = {}, {}

    def watch_worker():  # its network namespace and CPUs, while it runs; then srun is killed
      pid = remote_worker(run)
      if pid and not worker:
        worker.update(pid=pid, netns=os.stat(f'/proc/{pid}/ns/net').st_ino, cpus=cpus_allowed(pid))
      if worker and not killed and (run.status() or {}).get('iteration', 0) >= 3:
        srun = run.program_pid('sac_collect_0')
        os.kill(srun, signal.SIGKILL)  # cannot pass a signal on to its step
        killed.update(srun=srun)
      if killed and pid and pid != worker['pid']:
        killed.setdefault('new_worker', pid)
        killed['old_worker_alive'] = os.path.exists(f'/proc/{worker["pid"]}')

    ended, running, pinned = follow(cluster, [job_id], [run], watch=watch_worker)
    assert ended[job_id]['JobState'] == 'COMPLETED', slurm_output(run, job_id)
    assert_complete(run, 12, 50)
    assert 'Iteration 11:' in read_log(run, 'sac_collect_0')
    # supervise started srun again, which cancelled the step the killed one left: one worker.
    assert killed.get('new_worker') and killed['old_worker_alive'] is False, killed
    assert 'left by an srun that was killed' in read_log(run, 'sac_collect_0')

    with open(os.path.join(run.exp_dir, 'services', 'sac_collect_0', 'run')) as f:
      run_file = f.read()
    assert 'srun --job-name=sac_collect_0 --nodes=1 --ntasks=1 --nodelist=node2' in run_file
    assert '--reverb_address=node1:' in run_file
    assert worker and worker['netns'] == namespace.inode()
    assert worker['cpus'] <= allocation(running[job_id], 'node2')
    # node1 runs the replay server and the trainer, each on its own CPUs of the job's there,
    # and srun for the worker (the service's process there).
    granted = allocation(running[job_id], 'node1')
    assert set(p for _, p in pinned) == {'sac_replay_buffer', 'sac_train', 'sac_collect_0'}
    assert all(cpus <= granted for cpus in pinned.values())
    if len(granted) >= 2:
      assert disjoint([cpus for (_, p), cpus in pinned.items() if p != 'sac_collect_0'])
  finally:
    cleanup(cluster, job_id, [run])
