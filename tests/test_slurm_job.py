"""The CPUs and the sbatch command of a SLURM job, and where a multi-node job's workers run."""
import os
import sys

import pytest

from tfagents_system.common import thread_pools
from tfagents_system.launcher import daemontools
from tfagents_system.launcher import slurm_job
from tfagents_system.launcher.cpu_plan import CpuPlanError
from tfagents_system.launcher.run_settings import RunSettings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settings(workers=3, reverb=1, train=2, worker=2):
  return RunSettings.from_environ({
      'SAC_NUM_COLLECT_WORKERS': str(workers), 'SAC_REVERB_CPUS': str(reverb),
      'SAC_TRAIN_CPUS': str(train), 'SAC_COLLECT_WORKER_CPUS': str(worker),
      'SAC_EXP_NAME': 'exp', 'SAC_PARAMS': 'p.py', 'SAC_CONFIG': 'c.json',
      'SAC_EXP_DIR': 'logs/exp'})


def test_cpus_to_request_follows_the_formula():
  # 1 + 2 + 3 × 2 + 2
  assert slurm_job.cpus_to_request(settings()) == 11
  assert slurm_job.cpus_per_node(settings(), 1) == 11


def test_cpus_per_node_on_several_nodes():
  # First node: 1 + 2 + 2 = 5; three workers over two nodes: 2 × 2 = 4.
  assert slurm_job.cpus_per_node(settings(), 3) == 5
  # One other node holds all three workers: 3 × 2 = 6.
  assert slurm_job.cpus_per_node(settings(), 2) == 6


@pytest.mark.parametrize('options,nodes', [
    ([], 1), (['--nodes=3'], 3), (['--nodes', '2'], 2), (['-N', '4'], 4), (['-N2'], 2),
    (['--nodes=2', '--time=1:00:00', '-N', '3'], 3), (['--nodelist=a,b'], 1)])
def test_node_count(options, nodes):
  assert slurm_job.node_count(options) == nodes


def test_node_ranges_are_refused():
  with pytest.raises(slurm_job.SubmitError, match='--nodes must be one whole number'):
    slurm_job.node_count(['--nodes=2-4'])


def test_sbatch_command_asks_for_the_cpus_then_passes_the_users_options():
  command = slurm_job.sbatch_command(settings(), 'vars.sh', ['--time=2:00:00', '--cpus-per-task=4'])
  assert command == [
      'sbatch', '--job-name=exp', f'--chdir={REPO}', f'--output={REPO}/logs/slurm-%x-%j.out',
      '--nodes=1', '--ntasks-per-node=1', '--cpus-per-task=11', '--time=2:00:00',
      '--cpus-per-task=4', f'{REPO}/slurm/train.sbatch', os.path.abspath('vars.sh')]


def test_sbatch_command_of_an_array_names_the_output_by_task():
  for array in (['--array=0-3'], ['-a', '0-3'], ['-a0-3']):
    command = slurm_job.sbatch_command(settings(), 'vars.sh', array)
    assert f'--output={REPO}/logs/slurm-%x-%A_%a.out' in command


def test_sbatch_command_on_several_nodes():
  command = slurm_job.sbatch_command(settings(), 'vars.sh', ['-N', '3'])
  assert command[4:7] == ['--nodes=3', '--ntasks-per-node=1', '--cpus-per-task=5']


def test_expand_cpus_per_node():
  assert slurm_job.expand_cpus_per_node('4(x2),2') == [4, 4, 2]
  assert slurm_job.expand_cpus_per_node('8') == [8]
  with pytest.raises(ValueError):
    slurm_job.expand_cpus_per_node('4(2)')


def nodes():
  return slurm_job.JobNodes('n1', ['n2', 'n3'], {'n1': 4, 'n2': 4, 'n3': 2})


def test_workers_are_spread_over_the_other_nodes():
  placement = nodes().place_workers(3, 2, strict=False)
  assert placement == {0: slurm_job.RemoteWorker('n2', 2, False),
                       1: slurm_job.RemoteWorker('n3', 2, False),
                       2: slurm_job.RemoteWorker('n2', 2, False)}


def test_workers_share_a_node_with_too_few_cpus():
  placement = nodes().place_workers(4, 2, strict=False)
  assert placement[1] == placement[3] == slurm_job.RemoteWorker('n3', 2, True)
  assert placement[0] == slurm_job.RemoteWorker('n2', 2, False)
  assert nodes().place_workers(2, 3, strict=False)[1] == slurm_job.RemoteWorker('n3', 2, True)
  with pytest.raises(CpuPlanError, match='4 CPUs requested on node n3 but the job has only 2'):
    nodes().place_workers(4, 2, strict=True)


def test_srun_command_pins_the_worker_to_its_cpus_on_its_node():
  assert slurm_job.RemoteWorker('n2', 2, False).srun_command('sac_collect_0') == [
      sys.executable, '-m', 'tfagents_system.launcher.srun_step', 'sac_collect_0',
      'srun', '--job-name=sac_collect_0', '--nodes=1', '--ntasks=1', '--nodelist=n2',
      '--cpus-per-task=2', '--exact', '--export=ALL']
  assert slurm_job.RemoteWorker('n2', 2, True).srun_command('w')[-1] == '--overlap'


def test_of_job_is_none_outside_a_multi_node_job():
  assert slurm_job.JobNodes.of_job({}) is None
  assert slurm_job.JobNodes.of_job({'SLURM_JOB_NUM_NODES': '1'}) is None


def test_submit_refuses_bad_variables_before_sbatch(monkeypatch, capsys):
  for name in ('SAC_NUM_COLLECT_WORKERS', 'SAC_REVERB_CPUS', 'SAC_TRAIN_CPUS',
               'SAC_COLLECT_WORKER_CPUS', 'SAC_EXP_NAME', 'SAC_PARAMS', 'SAC_CONFIG'):
    monkeypatch.setenv(name, '1')
  monkeypatch.setenv('SAC_TRAIN_CPUS', 'two')
  monkeypatch.setenv('SAC_VARIABLES_FILE', 'vars.sh')
  assert slurm_job.main(['slurm_job', 'vars.sh']) == 2
  assert capsys.readouterr().err == (
      "error: vars.sh: SAC_TRAIN_CPUS must be a whole number, got 'two'\n")


def test_service_of_a_remote_worker_is_not_pinned_here(tmp_path):
  command = slurm_job.RemoteWorker('n2', 2, False).srun_command('w') + ['python', '-m', 'w']
  daemontools.write_service(str(tmp_path / 'service'), command, None,
                            thread_pools.environment(2), str(tmp_path / 'log'))
  run_file = (tmp_path / 'service' / 'run').read_text()
  assert 'taskset' not in run_file
  assert 'export OMP_NUM_THREADS=2\n' in run_file
  assert 'export TF_NUM_INTEROP_THREADS=2\n' in run_file
  assert run_file.endswith('tfagents_system.launcher.srun_step w srun --job-name=w --nodes=1 --ntasks=1 '
                           '--nodelist=n2 --cpus-per-task=2 --exact --export=ALL python -m w\n')


def test_each_remote_worker_step_asks_for_its_share_of_the_jobs_memory_on_its_node():
  # Without --mem a step asks for all the job's memory there, and the next one waits forever.
  by_node = slurm_job.JobNodes('n1', ['n2', 'n3'], {'n1': 4, 'n2': 4, 'n3': 2},
                               memory_mb_per_node=8000)
  placement = by_node.place_workers(3, 1, strict=False)
  assert [placement[i].memory_mb for i in range(3)] == [4000, 8000, 4000]  # 2 on n2, 1 on n3
  assert '--mem=4000M' in placement[0].srun_command('w')
  by_cpu = slurm_job.JobNodes('n1', ['n2'], {'n1': 4, 'n2': 4}, memory_mb_per_cpu=1000)
  assert by_cpu.place_workers(2, 1, strict=False)[0].memory_mb == 2000
  # A cluster that does not schedule memory gives the job none: no --mem.
  assert not any(a.startswith('--mem') for a in nodes().place_workers(1, 1, False)[0].srun_command('w'))

