import json
import textwrap

import pytest

from tfagents_system.common.curriculum import ConfigError
from tfagents_system.common.params_loading import load_env_config
from tfagents_system.common.params_loading import load_train_params
from tfagents_system.common.params_loading import ParamsError
from tfagents_system.train_params_base import TrainParamsBase


@pytest.fixture
def config(tmp_path):
  path = tmp_path / 'config.json'
  path.write_text(json.dumps({'curriculum': {'mass': {'iters': [0], 'range': [1, 2]}}}))
  return str(path)


def write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(textwrap.dedent(text))
  return str(path)


def test_params_file_outside_the_repo_can_import_the_package(tmp_path, config):
  params = write(tmp_path, 'my_params.py', '''
      from tfagents_system.point_mass_params import TrainParams as Base
      class TrainParams(Base):
        pass
  ''')
  loaded = load_train_params(params, config)
  assert isinstance(loaded, TrainParamsBase)
  assert loaded.env_config['curriculum']['mass']['range'] == [1, 2]


def test_repo_relative_paths_work():
  loaded = load_train_params('tfagents_system/point_mass_params.py', 'config/point_mass.json')
  assert loaded.num_iter == 60


@pytest.mark.parametrize('name, text, message', [
    ('p.py', 'x = (', 'not valid Python'),
    ('p.txt', 'x = 1', 'must be a Python file'),
    ('p.py', 'x = 1', 'defines no class named TrainParams'),
    ('p.py', 'class TrainParams:\n  pass', 'must be a subclass of'),
    ('p.py', 'import no_such_module_here', "importing it failed: ModuleNotFoundError"),
])
def test_bad_params_files(tmp_path, config, name, text, message):
  with pytest.raises(ParamsError) as e:
    load_train_params(write(tmp_path, name, text), config)
  assert message in str(e.value) and '\n' not in str(e.value)


def test_missing_params_file(config):
  with pytest.raises(ParamsError, match='params file not found: nowhere.py'):
    load_train_params('nowhere.py', config)


def test_malformed_json_names_line_and_column(tmp_path):
  path = write(tmp_path, 'c.json', '{\n  "a": 1,\n  "b": }\n')
  with pytest.raises(ConfigError, match=r'c.json: invalid JSON at line 3 column 8'):
    load_env_config(path)


def test_missing_json(tmp_path):
  with pytest.raises(ConfigError, match='config file not found'):
    load_env_config(str(tmp_path / 'none.json'))


def test_curriculum_error_names_file_and_parameter(tmp_path):
  path = write(tmp_path, 'c.json', '{"curriculum": {"friction": {"iters": [2, 1], "range": [0, 1]}}}')
  with pytest.raises(ConfigError, match=r"c.json: curriculum parameter 'friction': \"iters\" must be non-decreasing"):
    load_env_config(path)
