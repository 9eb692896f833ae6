"""One rule for a program's thread pools on N CPUs: the environment the launcher gives a program,
and the pools a program sets itself from the CPUs it is pinned to, agree."""
import os
import subprocess
import sys

from tfagents_system import REPO_ROOT
from tfagents_system.common import thread_pools
from tfagents_system.launcher import daemontools


def test_a_thread_per_cpu_and_at_most_two_inter_op_threads():
  assert thread_pools.environment(1) == {'OMP_NUM_THREADS': '1', 'TF_NUM_INTRAOP_THREADS': '1',
                                         'TF_NUM_INTEROP_THREADS': '1'}
  assert thread_pools.environment(4) == {'OMP_NUM_THREADS': '4', 'TF_NUM_INTRAOP_THREADS': '4',
                                         'TF_NUM_INTEROP_THREADS': '2'}


def test_a_pinned_service_gets_the_environment_of_its_cpu_count(tmp_path):
  daemontools.write_service(str(tmp_path / 'service'), ['true'], [0, 1, 2], {'A': 'b'},
                            str(tmp_path / 'log'))
  run_file = (tmp_path / 'service' / 'run').read_text()
  for name, value in thread_pools.environment(3).items():
    assert f'export {name}={value}\n' in run_file
  assert 'export A=b\n' in run_file


def test_a_program_sizes_tensorflows_pools_to_its_cpus_by_the_same_rule():
  cpu = sorted(os.sched_getaffinity(0))[0]
  program = ('from tfagents_system.common import program_setup; import tensorflow as tf; '
             'program_setup.size_thread_pools_to_cpus(); '
             'print(tf.config.threading.get_intra_op_parallelism_threads(), '
             'tf.config.threading.get_inter_op_parallelism_threads())')
  result = subprocess.run(['taskset', '-c', str(cpu), sys.executable, '-c', program],
                          cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True, text=True, timeout=300, check=True)
  assert result.stdout.split() == [str(thread_pools.intra_op_threads(1)),
                                   str(thread_pools.inter_op_threads(1))]
