"""The variables of a training_variables file, read and checked, and the run's experiment dir."""
import dataclasses
from typing import Any, Dict, Mapping, Optional

from tfagents_system.common import experiment_dir
from tfagents_system.launcher import sweep

REQUIRED_INT_VARIABLES = ('SAC_NUM_COLLECT_WORKERS', 'SAC_REVERB_CPUS', 'SAC_TRAIN_CPUS',
                          'SAC_COLLECT_WORKER_CPUS')
REQUIRED_STRING_VARIABLES = ('SAC_EXP_NAME', 'SAC_PARAMS', 'SAC_CONFIG')


class SettingsError(ValueError):
  """A missing or malformed variable, described in one line."""


@dataclasses.dataclass(frozen=True)
class RunSettings:
  num_workers: int
  reverb_cpus: int
  train_cpus: int
  worker_cpus: int
  exp_name: str
  params: str
  config: str
  exp_dir: str
  variables_file: str
  reverb_port: Optional[int]
  strict_cpus: bool
  run_seed: int
  fresh: bool
  # TrainParams attributes set after its __init__: a sweep task's combination.
  overrides: Dict[str, Any] = dataclasses.field(default_factory=dict)

  @classmethod
  def from_environ(cls, environ: Mapping[str, str]) -> 'RunSettings':
    source = environ.get('SAC_VARIABLES_FILE', 'the variables file')
    for name in REQUIRED_INT_VARIABLES + REQUIRED_STRING_VARIABLES:
      if not environ.get(name):
        raise SettingsError(f'{source}: {name} is not set')
    task = sweep.task_of_environ(environ)
    array_task_id = environ.get('SLURM_ARRAY_TASK_ID')
    if task:  # its own dir in the sweep's and the seed the sweep gives it
      exp_dir, run_seed = sweep.task_dir(environ['SAC_SWEEP'], task), task.seed
    else:  # array tasks of one job get dirs and seeds of their own
      exp_dir = experiment_dir.experiment_root(environ['SAC_EXP_NAME'], array_task_id)
      run_seed = (_int(environ, 'SAC_SEED', source) if environ.get('SAC_SEED') else
                  int(array_task_id or 0))
    return cls(
        num_workers=_positive_int(environ, 'SAC_NUM_COLLECT_WORKERS', source),
        reverb_cpus=_positive_int(environ, 'SAC_REVERB_CPUS', source),
        train_cpus=_positive_int(environ, 'SAC_TRAIN_CPUS', source),
        worker_cpus=_positive_int(environ, 'SAC_COLLECT_WORKER_CPUS', source),
        exp_name=environ['SAC_EXP_NAME'],
        params=environ['SAC_PARAMS'],
        config=environ['SAC_CONFIG'],
        exp_dir=exp_dir,
        variables_file=environ.get('SAC_VARIABLES_FILE', ''),
        reverb_port=(_positive_int(environ, 'SAC_REVERB_PORT', source)
                     if environ.get('SAC_REVERB_PORT') else None),
        strict_cpus=_flag(environ, 'SAC_STRICT_CPUS'),
        run_seed=run_seed,
        fresh=_flag(environ, 'SAC_FRESH'),
        overrides=task.overrides if task else {},
    )


def _flag(environ: Mapping[str, str], name: str) -> bool:
  return environ.get(name, '0') not in ('', '0')


def _int(environ: Mapping[str, str], name: str, source: str) -> int:
  text = environ[name]
  try:
    return int(text)
  except ValueError:
    raise SettingsError(f'{source}: {name} must be a whole number, got {text!r}') from None


def _positive_int(environ: Mapping[str, str], name: str, source: str) -> int:
  value = _int(environ, name, source)
  if value < 1:
    raise SettingsError(f'{source}: {name} must be at least 1, got {value}')
  return value
