"""Loading the user's params file and JSON config, with one-line errors for bad input."""
import importlib.util
import json
import os
import sys
from typing import Any, Dict, Type

from tfagents_system.curriculum import ConfigError
from tfagents_system.curriculum import Curriculum
from tfagents_system.train_params_base import TrainParamsBase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def load_train_params(params_path: str, config_path: str) -> TrainParamsBase:
  env_config = load_env_config(config_path)
  params_class = load_train_params_class(params_path)
  try:
    return params_class(env_config)
  except Exception as e:  # pylint: disable=broad-except
    raise ParamsError(f'{params_path}: TrainParams(env_config) failed: {type(e).__name__}: {e}') from None
