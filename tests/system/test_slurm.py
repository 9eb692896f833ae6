"""Training runs as SLURM jobs on a cluster brought up on this machine: a job, an array, a
preempted and requeued job, a cancelled one, a hyperparameter sweep, and a job on two nodes whose
worker runs in a network namespace."""
import copy
import glob
import json
import os
import signal
import re
import subprocess
import sys
import time

import pytest

from slurm_cluster import NetworkNamespace
from slurm_cluster import Node
from slurm_cluster import SlurmCluster
from slurm_cluster import install_slurm
from tfagents_system.common.experiment_dir import experiment_root
from tfagents_system.launcher.cpu_plan import parse_cpu_list
from training_run import REPO
from training_run import TrainingRun
from training_run import cpus_allowed
from training_run import run_status
from training_run import skip_saying_why

PROGRAMS = ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1')
ENDED = ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY')


@pytest.fixture(scope='session')
def slurm_cluster(pytestconfig):
  """A one-node cluster: this machine, as node 'localhost'."""
  reason = install_slurm()
  if reason:
    skip_saying_why(pytestconfig, 'SLURM tests', reason)
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
    skip_saying_why(pytestconfig, 'SLURM tests', reason)
  namespace = NetworkNamespace()
  try:
    namespace.create()
  except (OSError, subprocess.CalledProcessError) as e:
    namespace.delete()
    skip_saying_why(pytestconfig, 'SLURM tests',
                    f'cannot create a network namespace here: {getattr(e, "stderr", e)}')
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
    run.stop()
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
    task.exp_dir = experiment_root(run.name, str(task_id))
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
  # Checkpoints only at the stop: the resumed run must start from that one. Iterations go on
  # while the signal travels (scancel, slurmd, the batch script, the launcher): a run of 4 once
  # completed before the stop reached the trainer.
  run = TrainingRun(tmp_path, {'num_iter': 20, 'num_steps_per_iter': 50,
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
    assert_complete(run, 20, 50)
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


def overlap(job, other):
  """Whether two jobs ran at the same time (scontrol's times have whole seconds)."""
  return job['StartTime'] < other['EndTime'] and other['StartTime'] < job['EndTime']


def test_sweep_is_an_array_job_and_a_failed_task_is_resubmitted_alone(slurm_cluster, tmp_path):
  """A 2 x 1 x 2 sweep: each task its dir, overrides (in every program), seed and port; task 1,
  made to fail, is resubmitted alone with --tasks 1 and completes; plot --sweep groups them."""
  marker = tmp_path / 'fail_marker'
  marker.write_text('')
  run = TrainingRun(tmp_path, {'num_iter': 2, 'num_steps_per_iter': 20, 'eval_period_itrs': 1,
                               'n_eval_episodes': 1,
                               'fail': {'marker': str(marker), 'seed': 1,
                                        'actor_learning_rate': 0.001}},
                    workers=1, params='tests/params/sweep_params.py')
  sweep_file = tmp_path / 'sweep.json'
  sweep_file.write_text(json.dumps({'actor_learning_rate': [0.001, 0.0005],
                                    'train_batch_size': [32], 'seeds': 2}))
  names = ['actor_learning_rate=0.001_s0', 'actor_learning_rate=0.001_s1',
           'actor_learning_rate=0.0005_s0', 'actor_learning_rate=0.0005_s1']
  tasks = []
  for name in names:
    task = copy.copy(run)
    task.exp_dir = os.path.join(run.exp_dir, name)
    tasks.append(task)
  submit_sweep = [os.path.join(REPO, 'slurm', 'submit.sh'), '--sweep', str(sweep_file)]
  array_id = rerun_id = None
  try:
    array_id, printed = slurm_cluster.submit(
        submit_sweep + [str(run.variables_file), '--cpus-per-task=1'])
    assert f'sweep {run.exp_dir}: 4 tasks (2 combinations x 2 seeds), 5 CPUs each' in printed
    assert re.search(r'--cpus-per-task=5 --array=0-3 --cpus-per-task=1 \S+/train.sbatch \S+ '
                     + re.escape(os.path.join(run.exp_dir, 'sweep.json')), printed), printed
    failed = slurm_cluster.wait_for_state(f'{array_id}_1', ENDED, timeout_s=300)
    with open(os.path.join(run.exp_dir, f'slurm-{array_id}_1.out')) as f:
      output = f.read()
    assert failed['JobState'] == 'FAILED' and failed['ExitCode'] == '2:0', output
    assert ('error: env_ctor failed for the collect env (seed 1000): RuntimeError: this task '
            'fails') in output
    # Resubmitted alone once the cause is gone, while the others run.
    marker.unlink()
    rerun_id, printed = slurm_cluster.submit(
        submit_sweep + ['--tasks', '1', str(run.variables_file), '--cpus-per-task=1'])
    assert 'running 1 of them' in printed and '--array=1 ' in printed
    job_ids = [f'{array_id}_0', f'{rerun_id}_1', f'{array_id}_2', f'{array_id}_3']
    ended, _, _ = follow(slurm_cluster, job_ids, tasks, timeout_s=600)

    seeds = [0, 1, 0, 1]
    learning_rates = [0.001, 0.001, 0.0005, 0.0005]
    for job_id, task, seed, learning_rate in zip(job_ids, tasks, seeds, learning_rates):
      array, index = job_id.split('_')
      with open(os.path.join(run.exp_dir, f'slurm-{array}_{index}.out')) as f:
        assert ended[job_id]['JobState'] == 'COMPLETED', f.read()
      assert_complete(task, 2, 20)
      with open(os.path.join(task.exp_dir, 'params_overrides.json')) as f:
        assert json.load(f) == {'actor_learning_rate': learning_rate, 'train_batch_size': 32}
      assert f'collect env seed {1000 * seed},' in read_log(task, 'sac_collect_0')
      # Every program that loads TrainParams built them with the task's overrides (the replay
      # server loads none: its tables come from the run spec, tests/test_replay_tables.py).
      programs = set()
      for path in glob.glob(os.path.join(run.record_dir, 'params_*.json')):
        with open(path) as f:
          record = json.load(f)
        if record['cwd'].startswith(task.exp_dir + '/'):
          assert (record['actor_learning_rate'], record['train_batch_size']) == (learning_rate, 32)
          programs.add(os.path.basename(record['cwd']))
      assert programs == {'sac_train', 'sac_collect_0'}, task.exp_dir
    ports = {job_id: re.search(r'listening on port (\d+)', read_log(task, 'sac_replay_buffer'))
             .group(1) for job_id, task in zip(job_ids, tasks)}
    concurrent = [(a, b) for i, a in enumerate(job_ids) for b in job_ids[i + 1:]
                  if overlap(ended[a], ended[b])]
    assert concurrent  # 2 CPUs, a CPU per task
    assert all(ports[a] != ports[b] for a, b in concurrent), (ports, concurrent)

    status = run_status(run.exp_dir).splitlines()
    assert status[0] == f'sweep {run.exp_dir}: 4 tasks'
    assert [line.split()[1] for line in status[2:]] == ['done'] * 4, status
    result = subprocess.run([sys.executable, '-m', 'tfagents_system.tools.plot', '--sweep',
                             run.exp_dir], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    plots = os.path.join(run.exp_dir, 'plots')
    with open(os.path.join(plots, 'sweep.md')) as f:
      table = f.read().splitlines()
    assert sorted(re.match(r'\| \d \| (\S+) \| 2 \| -?[\d.]+ ± [\d.]+ \|', line).group(1)
                  for line in table[2:]) == ['actor_learning_rate=0.0005',
                                             'actor_learning_rate=0.001']
    assert os.path.getsize(os.path.join(plots, 'sweep_returns.png')) > 10000
  finally:
    if rerun_id:
      slurm_cluster.run(['scancel', rerun_id])
    cleanup(slurm_cluster, array_id, tasks + [run])


def remote_worker(run):
  """The PID of the worker srun started on the other node, if it runs."""
  for proc in glob.glob('/proc/[0-9]*'):
    try:
      with open(f'{proc}/cmdline', 'rb') as f:
        argv = f.read().decode(errors='replace').split('\0')
    except (FileNotFoundError, ProcessLookupError):
      continue
    if 'tfagents_system.sac_collect' in argv and f'--root_dir={run.exp_dir}' in argv and \
        not argv[0].endswith(('srun', 'env')) and 'tfagents_system.launcher.srun_step' not in argv:
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

