"""Loading the user's params file and JSON config, with one-line errors for bad input."""
import difflib
import importlib.util
import json
import numbers
import os
import sys
from typing import Any, Dict, Mapping, Optional, Type

from tfagents_system import REPO_ROOT
from tfagents_system.common.curriculum import ConfigError
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.train_params_base import TrainParamsBase



class ParamsError(ValueError):
  """A problem in the params file, described in one line."""


def resolve_path(path: str) -> str:
  """Paths in a variables file may be relative to the repository root or absolute."""
  return os.path.abspath(os.path.join(REPO_ROOT, os.path.expanduser(path)))


def load_env_config(config_path: str) -> Dict[str, Any]:
  """Reads and validates the JSON config (curriculum included)."""
  path = resolve_path(config_path)
  if not os.path.isfile(path):
    raise ConfigError(f'config file not found: {config_path}')
  with open(path) as f:
    text = f.read()
  try:
    config = json.loads(text)
  except json.JSONDecodeError as e:
    raise ConfigError(f'{config_path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}') from None
  if not isinstance(config, dict):
    raise ConfigError(f'{config_path}: the top level must be a JSON object')
  try:
    Curriculum.from_env_config(config)
  except ConfigError as e:
    raise ConfigError(f'{config_path}: {e}') from None
  return config


def load_train_params_class(params_path: str) -> Type[TrainParamsBase]:
  """Imports the params file and returns its `TrainParams` class."""
  path = resolve_path(params_path)
  if not os.path.isfile(path):
    raise ParamsError(f'params file not found: {params_path}')
  if not path.endswith('.py'):
    raise ParamsError(f'params file must be a Python file ending in .py: {params_path}')
  # A params file outside the repository can still `import tfagents_system`.
  if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
  module_name = '_sac_params_' + os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(module_name, path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except SyntaxError as e:
    raise ParamsError(f'{params_path}: not valid Python (line {e.lineno}: {e.msg})') from None
  except Exception as e:  # pylint: disable=broad-except
    raise ParamsError(f'{params_path}: importing it failed: {type(e).__name__}: {e}') from None
  params_class = getattr(module, 'TrainParams', None)
  if params_class is None:
    raise ParamsError(f'{params_path}: defines no class named TrainParams')
  if not (isinstance(params_class, type) and issubclass(params_class, TrainParamsBase)):
    raise ParamsError(f'{params_path}: TrainParams must be a subclass of '
                      'tfagents_system.train_params_base.TrainParamsBase')
  return params_class


def load_train_params(params_path: str, config_path: str,
                      overrides: Optional[Mapping[str, Any]] = None) -> TrainParamsBase:
  """TrainParams(env_config), then `overrides` (a sweep task's, see sweep.py) set on it."""
  env_config = load_env_config(config_path)
  params_class = load_train_params_class(params_path)
  try:
    params = params_class(env_config)
  except Exception as e:  # pylint: disable=broad-except
    raise ParamsError(f'{params_path}: TrainParams(env_config) failed: {type(e).__name__}: {e}') from None
  apply_overrides(params, overrides or {})
  return params


# Attributes that are not hyperparameters: the config file sets one, the programs the other.
NOT_OVERRIDABLE = ('env_config', 'compute_config')


def apply_overrides(params: TrainParamsBase, overrides: Mapping[str, Any]) -> None:
  """Sets each attribute, checked against the value TrainParams.__init__ gave it."""
  for name, value in overrides.items():
    setattr(params, name, override_value(params, name, value))


def override_value(params: TrainParamsBase, name: str, value: Any) -> Any:
  """`value` (as JSON gives it) as the attribute takes it: a whole number for an int, any number
  for a float, a tuple of those for a tuple (layer sizes), True or False for a bool; anything for
  an attribute whose default is None (params_checks checks it). Raises ParamsError."""
  attributes = vars(params)
  if name not in attributes or name.startswith('_') or name in NOT_OVERRIDABLE:
    close = difflib.get_close_matches(name, [a for a in attributes if a not in NOT_OVERRIDABLE
                                             and not a.startswith('_')], n=1, cutoff=0.5)
    hint = f' (did you mean {close[0]}?)' if close else ''
    raise ParamsError(f'{type(params).__name__} has no hyperparameter {name!r}{hint}')
  return _fitted(attributes[name], value, name)


def _fitted(default: Any, value: Any, what: str) -> Any:
  def refuse(kind):
    raise ParamsError(f'{what} must be {kind} (its default is {default!r}), '
                      f'got {json.dumps(value, default=repr)}')

  if default is None:
    return value
  if isinstance(default, bool):
    if not isinstance(value, bool):
      refuse('true or false')
    return value
  if isinstance(default, numbers.Integral):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
      refuse('a whole number')
    return int(value)
  if isinstance(default, numbers.Real):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
      refuse('a number')
    return float(value)
  if isinstance(default, str):
    if not isinstance(value, str):
      refuse('a string')
    return value
  if isinstance(default, (tuple, list)):
    if not isinstance(value, (tuple, list)):
      refuse('a list')
    if default:
      value = [_fitted(default[0], v, f'{what}[{i}]') for i, v in enumerate(value)]
    return type(default)(value)
  if isinstance(default, dict):
    if not isinstance(value, dict):
      refuse('a JSON object')
    return value
  raise ParamsError(f'{what} is a {type(default).__name__}, which cannot be set from JSON')
