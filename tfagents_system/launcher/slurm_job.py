"""Training runs as SLURM jobs: the CPUs to ask for, the sbatch command line, and where the
programs of a job that spans several nodes run.

  ./slurm/submit.sh [--sweep SWEEP_JSON [--tasks LIST]] [--dry-run] <variables file> [sbatch opts]

sources the variables file and runs this module, which prints the sbatch command line for
slurm/train.sbatch and submits it; with --sweep, an array job of the sweep's tasks (sweep.py).
"""
import argparse
import dataclasses
import math
import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Mapping, Optional, Sequence

from tfagents_system import REPO_ROOT
from tfagents_system.common import experiment_dir
from tfagents_system.launcher import exit_codes
from tfagents_system.launcher import sweep
from tfagents_system.launcher.cpu_plan import CpuPlanError
from tfagents_system.launcher.run_settings import RunSettings

# Besides the programs' CPUs: the launcher, svscan, supervise and multilog.
HEADROOM_CPUS = 2


class SubmitError(ValueError):
  """sbatch options this module cannot plan for, described in one line."""


def cpus_to_request(settings: RunSettings) -> int:
  """SAC_REVERB_CPUS + SAC_TRAIN_CPUS + SAC_NUM_COLLECT_WORKERS × SAC_COLLECT_WORKER_CPUS + 2."""
  return (settings.reverb_cpus + settings.train_cpus + settings.num_workers * settings.worker_cpus
          + HEADROOM_CPUS)


def cpus_per_node(settings: RunSettings, nodes: int) -> int:
  """CPUs to ask for on each node: on one node, all of them; on several, the first node runs the
  replay server and the trainer and the others share the workers (sbatch asks the same of every
  node, so the larger of the two)."""
  if nodes == 1:
    return cpus_to_request(settings)
  workers_per_node = math.ceil(settings.num_workers / (nodes - 1))
  return max(settings.reverb_cpus + settings.train_cpus + HEADROOM_CPUS,
             workers_per_node * settings.worker_cpus)


def _option_value(options: Sequence[str], short: str, long: str) -> Optional[str]:
  """The value of the last `-X value`, `-Xvalue`, `--long=value` or `--long value` in options."""
  value = None
  for i, option in enumerate(options):
    following = options[i + 1] if i + 1 < len(options) else None
    if option in (short, long):
      value = following
    elif option.startswith(long + '='):
      value = option[len(long) + 1:]
    elif option.startswith(short) and not option.startswith('--'):
      value = option[len(short):]
  return value


def node_count(sbatch_options: Sequence[str]) -> int:
  text = _option_value(sbatch_options, '-N', '--nodes')
  if text is None:
    return 1
  if not re.fullmatch(r'[1-9]\d*', text):
    raise SubmitError(f'--nodes must be one whole number of nodes, got {text!r}')
  return int(text)


def sbatch_command(settings: RunSettings, variables_file: str, sbatch_options: Sequence[str],
                   sweep_plan: Optional[sweep.SweepPlan] = None) -> List[str]:
  """sbatch with the CPUs the run needs (each task of an array or sweep), then the user's options
  (which win over ours).

  The job runs in the repository root, is named after the experiment, and writes its output to
  logs/slurm-<exp>-<job id>.out (logs/slurm-<exp>-<array job id>_<task id>.out for an array,
  logs/<exp>/slurm-<array job id>_<task id>.out for a sweep, whose manifest train.sbatch passes
  on)."""
  nodes = node_count(sbatch_options)
  script = [os.path.join(REPO_ROOT, 'slurm', 'train.sbatch'), os.path.abspath(variables_file)]
  if sweep_plan:
    output = os.path.join(sweep_plan.sweep_dir, 'slurm-%A_%a.out')
    ours = [f'--array={sweep_plan.array}']
    script.append(sweep_plan.manifest_file)
  else:
    array = _option_value(sbatch_options, '-a', '--array') is not None
    output = os.path.join(experiment_dir.LOGS_DIR, f'slurm-%x-{"%A_%a" if array else "%j"}.out')
    ours = []
  return ['sbatch', f'--job-name={settings.exp_name}', f'--chdir={REPO_ROOT}', f'--output={output}',
          f'--nodes={nodes}', '--ntasks-per-node=1',
          f'--cpus-per-task={cpus_per_node(settings, nodes)}', *ours, *sbatch_options, *script]


@dataclasses.dataclass(frozen=True)
class RemoteWorker:
  """A collect worker that srun starts on another node of the job."""
  node: str
  cpus: int
  shared: bool  # whether it shares its CPUs with other workers there
  # Its share of the job's memory on the node, where the job has a memory allocation: a step
  # without --mem asks for all of it, and the next worker's step there would wait forever.
  memory_mb: Optional[int] = None

  def srun_command(self, step_name: str) -> List[str]:
    """srun for the worker, started through srun_step so that the step an srun killed before
    left running is cancelled first."""
    # --exact: the step gets just these CPUs, and SLURM pins the worker to them on its node.
    command = [sys.executable, '-m', 'tfagents_system.launcher.srun_step', step_name,
               'srun', f'--job-name={step_name}', '--nodes=1', '--ntasks=1',
               f'--nodelist={self.node}', f'--cpus-per-task={self.cpus}', '--exact',
               '--export=ALL']
    if self.memory_mb is not None:
      command.append(f'--mem={self.memory_mb}M')
    return command + (['--overlap'] if self.shared else [])


def expand_cpus_per_node(text: str) -> List[int]:
  """SLURM_JOB_CPUS_PER_NODE, e.g. '4(x2),2' -> [4, 4, 2]."""
  counts = []
  for part in text.split(','):
    match = re.fullmatch(r'(\d+)(?:\(x(\d+)\))?', part.strip())
    if not match:
      raise ValueError(f'SLURM_JOB_CPUS_PER_NODE is not understood: {text!r}')
    counts += [int(match.group(1))] * int(match.group(2) or 1)
  return counts


@dataclasses.dataclass(frozen=True)
class JobNodes:
  """The nodes of a multi-node job, seen from the node its batch script (the launcher) runs on."""
  this_node: str
  other_nodes: List[str]
  cpus: Dict[str, int]  # node -> CPUs the job has there
  # The job's memory on each node (SLURM_MEM_PER_NODE, or SLURM_MEM_PER_CPU times its CPUs
  # there); None when the job was given none, e.g. on a cluster that does not schedule memory.
  memory_mb_per_node: Optional[int] = None
  memory_mb_per_cpu: Optional[int] = None

  @classmethod
  def of_job(cls, environ: Mapping[str, str]) -> Optional['JobNodes']:
    """None outside a SLURM job or in a one-node job."""
    if int(environ.get('SLURM_JOB_NUM_NODES') or 1) < 2:
      return None
    try:
      hostnames = subprocess.run(['scontrol', 'show', 'hostnames', environ['SLURM_JOB_NODELIST']],
                                 capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
      raise ValueError(f'cannot list the nodes of SLURM job {environ.get("SLURM_JOB_ID")}: '
                       f'{getattr(e, "stderr", None) or e}') from None
    this_node = environ['SLURMD_NODENAME']
    return cls(this_node, [n for n in hostnames if n != this_node],
               dict(zip(hostnames, expand_cpus_per_node(environ['SLURM_JOB_CPUS_PER_NODE']))),
               _megabytes(environ, 'SLURM_MEM_PER_NODE'), _megabytes(environ, 'SLURM_MEM_PER_CPU'))

  def memory_mb(self, node: str) -> Optional[int]:
    if self.memory_mb_per_node is not None:
      return self.memory_mb_per_node
    if self.memory_mb_per_cpu is not None:
      return self.memory_mb_per_cpu * self.cpus[node]
    return None

  def place_workers(self, num_workers: int, worker_cpus: int,
                    strict: bool) -> Dict[int, RemoteWorker]:
    """Worker i runs on the (i mod n)-th other node, with `worker_cpus` CPUs of it; where a node
    has too few for its workers they share them (each gets at most all of them), unless `strict`
    refuses."""
    nodes = {i: self.other_nodes[i % len(self.other_nodes)] for i in range(num_workers)}
    placement = {}
    for i, node in nodes.items():
      needed = sum(1 for n in nodes.values() if n == node) * worker_cpus
      shared = needed > self.cpus[node]
      if shared and strict:
        raise CpuPlanError(f'{needed} CPUs requested on node {node} but the job has only '
                           f'{self.cpus[node]} there; SAC_STRICT_CPUS=1 refuses to share them')
      workers_there = sum(1 for n in nodes.values() if n == node)
      memory = self.memory_mb(node)
      placement[i] = RemoteWorker(node, min(worker_cpus, self.cpus[node]), shared,
                                  None if memory is None else memory // workers_there)
    return placement


def _megabytes(environ: Mapping[str, str], name: str) -> Optional[int]:
  text = environ.get(name)
  if not text:
    return None
  if not text.isdigit():
    raise ValueError(f'{name} is not understood: {text!r}')
  return int(text)


def main(argv: Sequence[str]) -> int:
  parser = sweep.argument_parser(
      './slurm/submit.sh', 'Submits slurm/train.sbatch with the CPUs the run needs; with --sweep, '
      'an array job of the sweep\'s tasks.')
  parser.add_argument('sbatch_options', nargs=argparse.REMAINDER,
                      help='options for sbatch, after ours (they win)')
  args = parser.parse_args(argv[1:])
  if args.tasks and not args.sweep:
    parser.error('--tasks needs --sweep')
  try:
    # The variables are in the environment (submit.sh sources the file); checked as the job will.
    settings = RunSettings.from_environ(os.environ)
    sweep_plan = sweep.plan(args.sweep, settings.params, settings.config,
                            experiment_dir.experiment_root(settings.exp_name),
                            args.tasks) if args.sweep else None
    command = sbatch_command(settings, args.variables_file, args.sbatch_options, sweep_plan)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    return exit_codes.BAD_INPUTS
  if sweep_plan:
    print(sweep_plan.describe(cpus_per_node(settings, node_count(args.sbatch_options))))
    if not sweep_plan.selected:
      print('every task of the sweep is done; nothing to submit')
      return 0
  print(shlex.join(command), flush=True)
  if args.dry_run:
    return 0
  os.makedirs(experiment_dir.LOGS_DIR, exist_ok=True)  # SLURM opens the output file there
  if sweep_plan:
    sweep_plan.write_manifest()
  return subprocess.run(command, check=False).returncode


if __name__ == '__main__':
  sys.exit(main(sys.argv))
