"""Hyperparameter sweeps: a grid of TrainParams overrides times seeds, each (combination, seed)
one training run in its own experiment dir.

A sweep file names TrainParams attributes, each with the list of values to try, and the seeds:

  {"actor_learning_rate": [1e-4, 3e-4], "train_batch_size": [128, 256], "seeds": 3}

Every combination runs once per seed (12 tasks here), task i in logs/<exp>/<combination>_s<seed>
with that seed as its run seed and the combination's values set on TrainParams after its
__init__ (params_loading.apply_overrides). `sweep_dir/sweep.json`, the manifest, lists the tasks;
a task finds its own there by its index, SLURM_ARRAY_TASK_ID or SAC_SWEEP_TASK.

Nothing here loads TensorFlow at import: run_settings reads a task's entry before it loads.
"""
import dataclasses
import itertools
import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher.progress_display import quiet_terminal

MANIFEST = 'sweep.json'
# SLURM's default MaxArraySize allows task ids up to 1000; more runs than that are a mistake.
MAX_TASKS = 1000
SEEDS_KEY = 'seeds'
# Longer combination names abbreviate the attribute names (a dir name is at most 255 bytes).
MAX_NAME_LENGTH = 100
UNSAFE_CHARACTERS = re.compile(r'[^A-Za-z0-9._+-]')


class SweepError(ValueError):
  """A problem with a sweep file, a manifest or a task list, in one line."""


@dataclasses.dataclass(frozen=True)
class Task:
  """One run of a sweep."""
  index: int
  combination: str  # e.g. 'actor_learning_rate=0.0001,train_batch_size=128'
  overrides: Dict[str, Any]
  seed: int

  @property
  def name(self) -> str:
    """Its experiment dir's name in the sweep dir."""
    return f'{self.combination}_s{self.seed}'

  def to_json(self) -> Dict[str, Any]:
    return {'task': self.index, 'name': self.name, 'combination': self.combination,
            'overrides': self.overrides, 'seed': self.seed}


@dataclasses.dataclass(frozen=True)
class Sweep:
  grid: Dict[str, List[Any]]  # attribute -> its values, in the file's order
  seeds: List[int]

  def combinations(self) -> List[Dict[str, Any]]:
    return [dict(zip(self.grid, values)) for values in itertools.product(*self.grid.values())]

  def tasks(self) -> List[Task]:
    """Combination-major: a combination's seeds are consecutive tasks."""
    combinations = self.combinations()
    names = combination_names(self.grid, combinations)
    return [Task(i * len(self.seeds) + j, name, overrides, seed)
            for i, (name, overrides) in enumerate(zip(names, combinations))
            for j, seed in enumerate(self.seeds)]


def parse_sweep(data: Any, source: str) -> Sweep:
  """Checks the sweep's structure (the values' types are checked against TrainParams by
  check_against_params)."""
  if not isinstance(data, dict):
    raise SweepError(f'{source}: the top level must be a JSON object of attribute: [values]')
  seeds = _parse_seeds(data.get(SEEDS_KEY, 1), source)
  grid = {}
  for name, values in data.items():
    if name == SEEDS_KEY:
      continue
    if not isinstance(values, list):
      raise SweepError(f'{source}: {name}: give a list of values, e.g. [{json.dumps(values)}], '
                       f'got {json.dumps(values)}')
    if not values:
      raise SweepError(f'{source}: {name}: the list of values is empty')
    texts = [json.dumps(v, sort_keys=True) for v in values]
    if len(set(texts)) < len(texts):
      raise SweepError(f'{source}: {name}: a value is listed twice in {json.dumps(values)}')
    grid[name] = values
  count = len(seeds)
  for values in grid.values():
    count *= len(values)
  if count > MAX_TASKS:
    raise SweepError(f'{source}: {count} tasks (combinations x seeds); at most {MAX_TASKS} are '
                     'allowed')
  return Sweep(grid, seeds)


def _parse_seeds(value: Any, source: str) -> List[int]:
  def whole(v):
    return isinstance(v, int) and not isinstance(v, bool)
  if whole(value) and value >= 1:
    return list(range(value))
  if (isinstance(value, list) and value and all(whole(v) and v >= 0 for v in value)
      and len(set(value)) == len(value)):
    return value
  raise SweepError(f'{source}: "seeds" must be a count >= 1 or a list of distinct whole numbers '
                   f'>= 0, got {json.dumps(value)}')


def read_sweep_file(path: str) -> Sweep:
  try:
    with open(path) as f:
      text = f.read()
  except OSError as e:
    raise SweepError(f'cannot read the sweep file {path}: {e.strerror}') from None
  try:
    data = json.loads(text)
  except json.JSONDecodeError as e:
    raise SweepError(f'{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}') from None
  return parse_sweep(data, path)


def format_value(value: Any) -> str:
  """A value as a dir name can show it: 0.0001, 128, 64x64 for layer sizes, None, True."""
  if isinstance(value, (list, tuple)):
    return 'x'.join(format_value(v) for v in value) or 'empty'
  if isinstance(value, float):
    return repr(value)
  return UNSAFE_CHARACTERS.sub('-', json.dumps(value) if isinstance(value, dict) else str(value))


def abbreviation(name: str) -> str:
  """actor_learning_rate -> alr."""
  return ''.join(word[0] for word in name.split('_') if word)


def combination_names(grid: Mapping[str, List[Any]],
                      combinations: Sequence[Mapping[str, Any]]) -> List[str]:
  """'name=value,...' of the attributes that vary (all of them when none does); attribute names
  abbreviated when that is too long and the abbreviations are unambiguous."""
  varying = [name for name, values in grid.items() if len(values) > 1] or list(grid)
  if not varying:
    return ['default'] * len(combinations)

  def names_with(label):
    return [','.join(f'{label(n)}={format_value(c[n])}' for n in varying) for c in combinations]

  names = names_with(str)
  short = {abbreviation(n) for n in varying}
  if max(len(n) for n in names) > MAX_NAME_LENGTH and len(short) == len(varying):
    names = names_with(abbreviation)
  if len(set(names)) < len(names):  # e.g. 1 and 1.0, or "a b" and "a-b"
    raise SweepError(f'two combinations would share the dir name {names[0]!r}; use values that '
                     'differ as text')
  return names


def check_against_params(sweep: Sweep, make_params, source: str) -> Sweep:
  """Every attribute exists and every value fits it (params_loading.override_value), and every
  combination passes the hyperparameter checks; returns the sweep with the values as TrainParams
  takes them (e.g. 1 -> 1.0 for a float). `make_params()` builds a fresh TrainParams."""
  # Imported here: TensorFlow loads with them, which reading a task's entry must not wait for.
  from tfagents_system.launcher import params_checks  # pylint: disable=g-import-not-at-top
  from tfagents_system.common import params_loading  # pylint: disable=g-import-not-at-top
  params = make_params()
  try:
    grid = {name: [params_loading.override_value(params, name, v) for v in values]
            for name, values in sweep.grid.items()}
  except params_loading.ParamsError as e:
    raise SweepError(f'{source}: {e}') from None
  checked = Sweep(grid, sweep.seeds)
  for name, combination in zip(combination_names(grid, checked.combinations()),
                               checked.combinations()):
    params = make_params()
    params_loading.apply_overrides(params, combination)
    try:
      params_checks.check_hyperparameters(params)
    except params_loading.ParamsError as e:
      raise SweepError(f'{source}: combination {name}: {e}') from None
  return checked


def parse_task_list(text: str, count: int) -> List[int]:
  """The task indices of SLURM's --array syntax ('3', '0-5,8', '0-9%2'), each < count."""
  match = re.fullmatch(r'(\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)(%[1-9]\d*)?', text)
  if not match:
    raise SweepError(f'--tasks must be task numbers and ranges such as 3 or 0-5,8 (SLURM\'s '
                     f'--array syntax), got {text!r}')
  indices = []
  for part in match.group(1).split(','):
    first, _, last = part.partition('-')
    if last and int(last) < int(first):
      raise SweepError(f'--tasks: the range {part} is empty')
    indices += range(int(first), int(last or first) + 1)
  outside = [i for i in indices if i >= count]
  if outside:
    raise SweepError(f'--tasks: the sweep has tasks 0-{count - 1}, not {outside[0]}')
  return sorted(set(indices))


# The manifest: the sweep dir's list of tasks, written when the sweep is submitted.

def manifest_path(sweep_dir: str) -> str:
  return os.path.join(sweep_dir, MANIFEST)


def manifest(sweep: Sweep, sweep_file: str) -> Dict[str, Any]:
  return {'sweep_file': os.path.abspath(sweep_file), 'grid': sweep.grid, 'seeds': sweep.seeds,
          'tasks': [task.to_json() for task in sweep.tasks()]}


def read_manifest(path: str) -> Dict[str, Any]:
  try:
    with open(path) as f:
      data = json.load(f)
  except FileNotFoundError:
    raise SweepError(f'no sweep manifest {path}: is {os.path.dirname(path)} a sweep dir?') from None
  except (OSError, json.JSONDecodeError) as e:
    raise SweepError(f'cannot read the sweep manifest {path}: {e}') from None
  if not isinstance(data, dict) or not isinstance(data.get('tasks'), list):
    raise SweepError(f'{path}: not a sweep manifest (no list of tasks)')
  return data


def manifest_tasks(data: Mapping[str, Any]) -> List[Task]:
  return [Task(t['task'], t['combination'], t['overrides'], t['seed']) for t in data['tasks']]


def check_sweep_dir(sweep_dir: str, data: Mapping[str, Any]) -> None:
  """A dir may take the sweep when it is new or holds the same sweep (a resubmission)."""
  path = manifest_path(sweep_dir)
  if os.path.exists(path):
    if read_manifest(path)['tasks'] != json.loads(json.dumps(data['tasks'])):
      raise SweepError(f'{sweep_dir} holds another sweep (its {MANIFEST} lists other tasks); '
                       'choose another SAC_EXP_NAME or move that dir away')
  elif os.path.exists(os.path.join(sweep_dir, 'run_spec.json')):
    raise SweepError(f'{sweep_dir} holds a training run, not a sweep; choose another SAC_EXP_NAME')


def write_manifest(sweep_dir: str, data: Mapping[str, Any]) -> None:
  os.makedirs(sweep_dir, mode=0o700, exist_ok=True)
  path = manifest_path(sweep_dir)
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(data, f, indent=1)
  os.replace(temporary, path)


def task_of_environ(environ: Mapping[str, str]) -> Optional[Task]:
  """The task a run is, when SAC_SWEEP names a manifest: number SAC_SWEEP_TASK, else
  SLURM_ARRAY_TASK_ID; None outside a sweep."""
  path = environ.get('SAC_SWEEP')
  if not path:
    return None
  text = environ.get('SAC_SWEEP_TASK') or environ.get('SLURM_ARRAY_TASK_ID')
  if not text or not text.isdigit():
    raise SweepError(f'SAC_SWEEP={path}: a sweep task needs its number in SLURM_ARRAY_TASK_ID or '
                     f'SAC_SWEEP_TASK, got {text!r}')
  tasks = manifest_tasks(read_manifest(path))
  if int(text) >= len(tasks):
    raise SweepError(f'{path} has tasks 0-{len(tasks) - 1}, not {text}')
  return tasks[int(text)]


def task_dir(manifest_file: str, task: Task) -> str:
  return os.path.join(os.path.dirname(os.path.abspath(manifest_file)), task.name)


def plural(number: int, noun: str) -> str:
  return f'{number} {noun}{"" if number == 1 else "s"}'


def array_syntax(indices: Sequence[int]) -> str:
  """[0, 1, 2, 5] -> '0-2,5'."""
  runs = []
  for index in sorted(indices):
    if runs and index == runs[-1][1] + 1:
      runs[-1][1] = index
    else:
      runs.append([index, index])
  return ','.join(str(a) if a == b else f'{a}-{b}' for a, b in runs)


@dataclasses.dataclass(frozen=True)
class SweepPlan:
  """A checked sweep and the tasks of it to run now."""
  sweep: Sweep
  sweep_file: str
  sweep_dir: str
  selected: List[int]
  array: str  # the selected tasks in SLURM's --array syntax
  done: List[int]  # tasks whose run completed before

  @property
  def manifest_file(self) -> str:
    return manifest_path(self.sweep_dir)

  def tasks(self) -> List[Task]:
    return [t for t in self.sweep.tasks() if t.index in self.selected]

  def write_manifest(self) -> None:
    write_manifest(self.sweep_dir, manifest(self.sweep, self.sweep_file))

  def describe(self, cpus_per_task: int) -> str:
    """What --dry-run shows and a submission prints: the tasks to run and where they go."""
    tasks = self.sweep.tasks()
    seeds = len(self.sweep.seeds)
    lines = [f'sweep {self.sweep_dir}: {plural(len(tasks), "task")} '
             f'({plural(len(tasks) // seeds, "combination")} x {plural(seeds, "seed")}), '
             f'{cpus_per_task} CPUs each'
             + (f'; {len(self.done)} done already' if self.done else '')
             + (f'; running {len(self.selected)} of them' if len(self.selected) < len(tasks)
                else '')]
    constant = {n: v[0] for n, v in self.sweep.grid.items() if len(v) == 1}
    if constant and len(constant) < len(self.sweep.grid):
      lines.append('every task: ' + ', '.join(f'{n}={format_value(v)}'
                                              for n, v in constant.items()))
    header = 'experiment dir'
    width = max(len(header), *(len(t.name) for t in tasks))
    lines.append(f'{"task":<5} {header:<{width}}  seed')
    lines += [f'{t.index:<5} {t.name:<{width}}  {t.seed}' for t in self.tasks()]
    return '\n'.join(lines)


def plan(sweep_file: str, params_path: str, config_path: str, sweep_dir: str,
         task_list: Optional[str] = None) -> SweepPlan:
  """Reads and checks the sweep file against the params (every input error is raised here, as a
  ValueError, before anything is submitted or started). Without `task_list`, the tasks whose
  run has not completed yet: submitting a sweep again finishes it."""
  sweep = read_sweep_file(sweep_file)
  count = len(sweep.tasks())
  selected = parse_task_list(task_list, count) if task_list else None
  # Imported here, with TensorFlow: its import chatter stays off the terminal.
  with quiet_terminal():
    from tfagents_system.common import params_loading  # pylint: disable=g-import-not-at-top
    checked = check_against_params(
        sweep, lambda: params_loading.load_train_params(params_path, config_path), sweep_file)
  check_sweep_dir(sweep_dir, manifest(checked, sweep_file))
  done = [t.index for t in checked.tasks()
          if (ExperimentDir(os.path.join(sweep_dir, t.name)).read_status() or {}).get('done')]
  if selected is None:
    selected = [i for i in range(count) if i not in done]
  return SweepPlan(checked, sweep_file, sweep_dir, selected,
                   task_list or array_syntax(selected), done)


def argument_parser(prog: str, description: str):
  """The options of slurm/submit.sh and scripts/sweep_local.sh; they come before the variables
  file."""
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(prog=prog, description=description)
  parser.add_argument('--sweep', metavar='SWEEP_JSON',
                      help='run a sweep: every combination of the TrainParams values in this '
                      'JSON file, once per seed')
  parser.add_argument('--tasks', metavar='LIST',
                      help="only these tasks of the sweep, e.g. 3 or 0-5,8 (SLURM's --array "
                      'syntax)')
  parser.add_argument('--dry-run', action='store_true',
                      help='print what would run and start nothing')
  parser.add_argument('variables_file')
  return parser
