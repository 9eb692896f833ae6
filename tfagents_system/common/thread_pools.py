"""The rule for a program's thread pools on N CPUs: TensorFlow's intra-op pool and OpenMP get a
thread per CPU, TensorFlow's inter-op pool at most two.

The launcher puts them in a program's environment, where TensorFlow and OpenMP read them as they
start (launcher/daemontools.py); a program sets TensorFlow's pools again from the CPUs it finds
itself pinned to (program_setup.size_thread_pools_to_cpus), as do the benchmarks' bare loops.
"""
from typing import Dict


def intra_op_threads(cpu_count: int) -> int:
  return cpu_count


def inter_op_threads(cpu_count: int) -> int:
  return max(1, min(2, cpu_count))


def environment(cpu_count: int) -> Dict[str, str]:
  """The environment variables that size the pools of a program started on `cpu_count` CPUs."""
  return {'OMP_NUM_THREADS': str(intra_op_threads(cpu_count)),
          'TF_NUM_INTRAOP_THREADS': str(intra_op_threads(cpu_count)),
          'TF_NUM_INTEROP_THREADS': str(inter_op_threads(cpu_count))}
