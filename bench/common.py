"""What the benchmarks share: real runs through run_script.sh, baselines in pinned child
processes, the machine's description, and result tables written as markdown and PNG."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from tfagents_system.launcher import script_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
DEFAULT_VARIABLES = os.path.join(REPO, 'training_variables.sh')
DEFAULT_CONFIG = os.path.join(REPO, 'config', 'point_mass.json')
# The examples' params, with the config able to change a few (bench/params_overrides.py).
BENCH_PARAMS = 'bench/point_mass_bench_params.py'
MINITAUR_PARAMS = 'bench/minitaur_bench_params.py'
MINITAUR_CONFIG = os.path.join(REPO, 'config', 'minitaur.json')
# Iterations whose timings include tf.function tracing and first connections.
WARMUP_ITERATIONS = 3


def argument_parser(description: str) -> argparse.ArgumentParser:
  """The options every benchmark takes."""
  parser = argparse.ArgumentParser(description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--quick', action='store_true', help='fewer iterations and seeds')
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'benchmarks'),
                      help='dir for the markdown and PNG results')
  return parser


def examples(quick: bool) -> List[str]:
  """The examples a benchmark measures: point-mass only in a quick run (bench/__main__.py)."""
  return ['point-mass'] if quick else ['point-mass', 'Minitaur']


def parse_args(description: str) -> argparse.Namespace:
  return argument_parser(description).parse_args()


def machine_description() -> str:
  model = 'unknown CPU'
  with open('/proc/cpuinfo') as f:
    for line in f:
      if line.startswith('model name'):
        model = line.split(':', 1)[1].strip()
        break
  with open('/proc/meminfo') as f:
    mem_kib = int(f.readline().split()[1])
  return (f'{len(os.sched_getaffinity(0))} CPUs usable (nproc), {os.cpu_count()} online, '
          f'{model}, {mem_kib / 2**20:.0f} GiB memory')


def example_config(base: str = DEFAULT_CONFIG, **changes) -> dict:
  """An example's config (by default the default example's) with `changes`."""
  with open(base) as f:
    return dict(json.load(f), **changes)


def write_config(base: str = DEFAULT_CONFIG, **changes) -> str:
  """The path of a new file holding example_config(base, **changes), in a temporary dir of
  its own."""
  path = os.path.join(tempfile.mkdtemp(prefix='bench_inputs_'), 'config.json')
  with open(path, 'w') as f:
    json.dump(example_config(base, **changes), f)
  return path


def default_variables() -> Dict[str, str]:
  """The KEY=VALUE lines of training_variables.sh, the default example's run."""
  variables = {}
  with open(DEFAULT_VARIABLES) as f:
    for line in f:
      line = line.split('#', 1)[0].strip()
      if '=' in line:
        key, value = line.split('=', 1)
        variables[key] = value
  return variables


def planned_cpus(program: str, num_workers: int) -> List[int]:
  """The CPUs the launcher pins `program` to in a run of the default variables with N workers."""
  from tfagents_system.launcher import cpu_plan  # pylint: disable=g-import-not-at-top
  variables = default_variables()
  return cpu_plan.plan_run(sorted(os.sched_getaffinity(0)), int(variables['SAC_REVERB_CPUS']),
                           int(variables['SAC_TRAIN_CPUS']),
                           int(variables['SAC_COLLECT_WORKER_CPUS']),
                           range(num_workers)).cpus_of(program)


def run_pinned_child(module: str, args: Sequence[str], cpus: Optional[Sequence[int]] = None,
                     stop_when: Callable[[dict], bool] = lambda _: False,
                     timeout_s: float = 900) -> List[dict]:
  """Runs `python -m module args` (pinned to `cpus`, else all of ours) and returns the JSON
  objects it prints one a line; stops it (SIGTERM, by PID) once one satisfies `stop_when`."""
  preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='2')
  stderr = tempfile.TemporaryFile('w+')  # TensorFlow's chatter; shown if the child fails
  process = subprocess.Popen([PYTHON, '-m', module, *args], cwd=REPO, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=stderr, preexec_fn=preexec)
  timer = threading.Timer(timeout_s, process.terminate)
  timer.start()
  results = []
  try:
    for line in process.stdout:
      if line.startswith('{'):
        results.append(json.loads(line))
        if stop_when(results[-1]):
          process.terminate()
          break
  finally:
    timer.cancel()
    process.stdout.close()
    process.wait(timeout=60)
  stderr.seek(0)
  errors = stderr.read()
  stderr.close()
  if not results:
    raise RuntimeError(f'{module} printed no result (exit status {process.returncode}):\n'
                       + errors[-3000:])
  return results


class ReplayServerProgram:
  """The replay server program (sac_replay_buffer) alone, for an example's params and config,
  in a temporary experiment dir, optionally pinned; `connection` reaches it once it listens."""

  START_TIMEOUT_S = 120

  def __init__(self, params_file: str, config_file: str, cpus: Optional[Sequence[int]] = None):
    self._args = (params_file, config_file)
    self._cpus = cpus
    self.process = None
    self.address = None
    self.connection = None

  def __enter__(self) -> 'ReplayServerProgram':
    # pylint: disable=g-import-not-at-top  # the launcher's port rule, TensorFlow only here
    from tfagents_system.common.experiment_dir import ExperimentDir
    from tfagents_system.launcher import launch
    from tfagents_system.launcher import preflight
    from tfagents_system.protocol.replay_connection import ReplayConnection
    params_file, config_file = self._args
    port = launch.choose_port(None)
    self._root_dir = tempfile.mkdtemp(prefix='bench_replay_')
    # The tables are made from the run spec, as the launcher's checks write it.
    preflight.save_run_spec(ExperimentDir(self._root_dir),
                            preflight.check_run(params_file, config_file, 0))
    preexec = (lambda: os.sched_setaffinity(0, self._cpus)) if self._cpus else None
    self.process = subprocess.Popen(
        [PYTHON, '-m', 'tfagents_system.sac_replay_buffer', f'--root_dir={self._root_dir}',
         f'--port={port}'],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='2'),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=preexec)
    self.address = f'localhost:{port}'
    self.connection = ReplayConnection(self.address, self.START_TIMEOUT_S)
    return self

  def cpu_seconds(self) -> float:
    """User + system CPU time the server has used so far."""
    with open(f'/proc/{self.process.pid}/stat') as f:
      fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

  def __exit__(self, *_):
    self.process.terminate()
    self.process.wait(timeout=60)
    shutil.rmtree(self._root_dir, ignore_errors=True)


def random_episode(data_spec, episode_length: int) -> list:
  """The trajectory steps of an `episode_length`-step episode as a worker's observer receives
  them (the last one LAST), of `data_spec` filled with random values (what compresses least)."""
  # pylint: disable=g-import-not-at-top  # TensorFlow only where it is needed
  import tensorflow as tf
  from tf_agents.specs import tensor_spec
  from tf_agents.trajectories import time_step as ts
  steps = [tf.nest.map_structure(lambda value: value.numpy(),
                                 tensor_spec.sample_spec_nest(data_spec, outer_dims=()))
           for _ in range(episode_length + 1)]
  return [step._replace(step_type=np.int32(ts.StepType.MID)) for step in steps[:-1]] + [
      steps[-1]._replace(step_type=np.int32(ts.StepType.LAST))]


class SystemRun(script_run.ScriptRun):
  """One real run through ./run_script.sh of the default example's variables with an example's
  params and config (by default the default example's), some of it changed; its own
  experiment dir under logs/, removed when it is stopped."""

  def __init__(self, label: str, workers: int, seed: int = 0, params_file: str = BENCH_PARAMS,
               config_file: str = DEFAULT_CONFIG, **config_changes):
    self.workers = workers
    config_path = write_config(config_file, **config_changes)
    self._inputs_dir = os.path.dirname(config_path)
    super().__init__(dict(default_variables(), SAC_EXP_NAME=f'bench_{label}_{uuid.uuid4().hex[:6]}',
                          SAC_PARAMS=params_file, SAC_CONFIG=config_path,
                          SAC_NUM_COLLECT_WORKERS=str(workers), SAC_SEED=str(seed)),
                     os.path.join(self._inputs_dir, 'variables.sh'))

  def wait_until_done(self, timeout_s: float = 900) -> dict:
    return self.wait_for(lambda status: status.get('done'), timeout_s)

  def train_summaries(self) -> Dict[str, np.ndarray]:
    """{tag: values in train step order} of the trainer's TensorBoard summaries."""
    from tfagents_system.tools import plot  # pylint: disable=g-import-not-at-top
    return {tag: series.values for tag, series in plot.load_runs([self.exp_dir])[0].train.items()}

  def stop(self) -> None:
    super().stop()
    shutil.rmtree(self._inputs_dir, ignore_errors=True)


def after_warmup(values: Sequence[float]) -> np.ndarray:
  """Per-iteration values without the first iterations (tracing, first connections)."""
  values = np.asarray(values, dtype=float)
  return values[WARMUP_ITERATIONS:] if len(values) > WARMUP_ITERATIONS else values


def spread(values: Sequence[float], fmt: str = '{:.1f}') -> str:
  """'median [min, max]' of some measurements."""
  values = np.asarray(values, dtype=float)
  return (fmt.format(np.median(values)) + ' [' + fmt.format(values.min()) + ', '
          + fmt.format(values.max()) + ']')


def verdict(ratio: float, target: float, at_least: bool = True) -> str:
  met = ratio >= target if at_least else ratio <= target
  return f"{'met' if met else 'MISSED'} ({'≥' if at_least else '≤'} {target:g})"


def write_result(out_dir: str, name: str, title: str, columns: Sequence[str],
                 rows: Sequence[Sequence], draw: Callable, notes: str = '') -> None:
  """Prints the table, writes it as <name>.md and draws <name>.png with `draw(axes)`."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  cells = [[str(c) for c in row] for row in rows]
  table = '\n'.join(['| ' + ' | '.join(columns) + ' |', '|' + ' --- |' * len(columns)]
                    + ['| ' + ' | '.join(row) + ' |' for row in cells])
  print(f'\n## {title}\n\n{table}\n{notes}', flush=True)
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, f'{name}.md'), 'w') as f:
    f.write(f'## {title}\n\n{machine_description()}\n\n{table}\n\n{notes}\n\n![{title}]({name}.png)\n')
  figure = Figure(figsize=(7, 4))
  FigureCanvasAgg(figure)
  axes = figure.add_subplot()
  draw(axes)
  axes.set_title(title, fontsize=10)
  figure.tight_layout()
  figure.savefig(os.path.join(out_dir, f'{name}.png'), dpi=100)


def draw_ratios(labels: Sequence[str], ratios: Sequence[float], target: float, ylabel: str):
  """A `draw` for write_result: one bar per ratio and the target as a line."""
  def draw(axes):
    axes.bar(labels, ratios, color='tab:blue')
    axes.axhline(target, color='tab:red', linestyle='--', label=f'target {target:g}')
    for x, ratio in enumerate(ratios):
      axes.annotate(f'{ratio:.2f}', (x, ratio), ha='center', va='bottom')
    axes.set_ylabel(ylabel)
    axes.legend()
  return draw
