"""The variables of a training_variables file, read and checked."""
import dataclasses
import os
from typing import Mapping, Optional

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

  @classmethod
  def from_environ(cls, environ: Mapping[str, str]) -> 'RunSettings':
    source = environ.get('SAC_VARIABLES_FILE', 'the variables file')
    for name in REQUIRED_INT_VARIABLES + REQUIRED_STRING_VARIABLES + ('SAC_EXP_DIR',):
      if not environ.get(name):
        raise SettingsError(f'{source}: {name} is not set')
    return cls(
        num_workers=_positive_int(environ, 'SAC_NUM_COLLECT_WORKERS', source),
        reverb_cpus=_positive_int(environ, 'SAC_REVERB_CPUS', source),
        train_cpus=_positive_int(environ, 'SAC_TRAIN_CPUS', source),
        worker_cpus=_positive_int(environ, 'SAC_COLLECT_WORKER_CPUS', source),
        exp_name=environ['SAC_EXP_NAME'],
        params=environ['SAC_PARAMS'],
        config=environ['SAC_CONFIG'],
        exp_dir=environ['SAC_EXP_DIR'],
        variables_file=environ.get('SAC_VARIABLES_FILE', ''),
        reverb_port=(_positive_int(environ, 'SAC_REVERB_PORT', source)
                     if environ.get('SAC_REVERB_PORT') else None),
        strict_cpus=_flag(environ, 'SAC_STRICT_CPUS'),
        # Array tasks of one job get different seeds.
        run_seed=_int(environ, 'SAC_SEED', source) if environ.get('SAC_SEED') else
        int(environ.get('SLURM_ARRAY_TASK_ID') or 0),
        fresh=_flag(environ, 'SAC_FRESH'),
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
