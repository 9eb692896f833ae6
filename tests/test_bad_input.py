"""Bad input to ./run_script.sh: a one-line error naming the problem, exit 2, nothing started."""
import json
import os
import subprocess

import pytest

from training_run import REPO

GOOD = {
    'SAC_NUM_COLLECT_WORKERS': '2', 'SAC_REVERB_CPUS': '1', 'SAC_TRAIN_CPUS': '1',
    'SAC_COLLECT_WORKER_CPUS': '1', 'SAC_EXP_NAME': 'bad_input_never_created',
    'SAC_PARAMS': 'tfagents_system/point_mass_params.py', 'SAC_CONFIG': 'config/point_mass.json',
}


def run_with(tmp_path, overrides, drop=()):
  variables = {k: v for k, v in dict(GOOD, **overrides).items() if k not in drop}
  path = tmp_path / 'vars.sh'
  path.write_text(''.join(f'{k}={v}\n' for k, v in variables.items()))
  result = subprocess.run([os.path.join(REPO, 'run_script.sh'), str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
  return result


def assert_rejected(result, *fragments):
  assert result.returncode == 2, result.stdout + result.stderr
  errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert len(errors) == 1, result.stderr
  for fragment in fragments:
    assert fragment in errors[0], errors[0]
  assert not os.path.exists(os.path.join(REPO, 'logs', 'bad_input_never_created'))


def test_missing_variables_file():
  result = subprocess.run([os.path.join(REPO, 'run_script.sh'), 'no_such_variables.sh'],
                          cwd=REPO, capture_output=True, text=True)
  assert_rejected(result, 'variables file not found: no_such_variables.sh')


@pytest.mark.parametrize('name', ['SAC_NUM_COLLECT_WORKERS', 'SAC_PARAMS', 'SAC_CONFIG',
                                  'SAC_TRAIN_CPUS'])
def test_missing_variable(tmp_path, name):
  assert_rejected(run_with(tmp_path, {}, drop=[name]), f'{name} is not set')


def test_non_numeric_variable(tmp_path):
  assert_rejected(run_with(tmp_path, {'SAC_REVERB_CPUS': 'two'}),
                  "SAC_REVERB_CPUS must be a whole number, got 'two'")


def test_params_without_train_params_class(tmp_path):
  params = tmp_path / 'p.py'
  params.write_text('class Params:\n  pass\n')
  assert_rejected(run_with(tmp_path, {'SAC_PARAMS': str(params)}), 'defines no class named TrainParams')


def test_malformed_json(tmp_path):
  config = tmp_path / 'c.json'
  config.write_text('{"curriculum": {"mass": {"iters": [0, 1], "range": [0, 1],}}}')
  assert_rejected(run_with(tmp_path, {'SAC_CONFIG': str(config)}), 'invalid JSON at line 1 column')


def test_curriculum_error(tmp_path):
  config = tmp_path / 'c.json'
  config.write_text('{"curriculum": {"mass": {"iters": [5, 1], "range": [0, 1]}}}')
  assert_rejected(run_with(tmp_path, {'SAC_CONFIG': str(config)}),
                  "curriculum parameter 'mass'", 'non-decreasing')


def test_strict_cpus_refuses_to_share(tmp_path):
  cpus = len(os.sched_getaffinity(0))
  assert_rejected(run_with(tmp_path, {'SAC_STRICT_CPUS': '1', 'SAC_TRAIN_CPUS': str(cpus + 1)}),
                  'SAC_STRICT_CPUS=1 refuses to share')


def test_env_ctor_failure_names_the_env(tmp_path):
  assert_rejected(run_with(tmp_path, {'SAC_PARAMS': 'tests/params/failing_env_params.py'}),
                  'env_ctor failed for the eval env (seed 1)', "no_such_argument")


def test_set_state_rejecting_a_curriculum_key_names_key_and_iteration(tmp_path):
  config = tmp_path / 'c.json'
  config.write_text('{"curriculum": {"gravity": {"iters": [0, 7], "range": [9, 10]}}}')
  assert_rejected(run_with(tmp_path, {'SAC_CONFIG': str(config)}),
                  "set_state({'gravity': 9}) of the curriculum at iteration 0 failed",
                  "unknown key 'gravity'")


def test_an_eval_measure_the_env_does_not_give_is_named(tmp_path):
  with open(os.path.join(REPO, 'config', 'point_mass.json')) as f:
    config = json.load(f)
  config.update({'eval_measures': ['final_distance', 'distance_to_goal'],
                 'record_dir': str(tmp_path)})
  path = tmp_path / 'c.json'
  path.write_text(json.dumps(config))
  assert_rejected(run_with(tmp_path, {'SAC_PARAMS': 'tests/params/recording_params.py',
                                      'SAC_CONFIG': str(path)}),
                  "TrainParams.eval_measures names 'distance_to_goal', which the eval env's "
                  'episode_measures() does not give (it gives: final_distance)')


@pytest.mark.parametrize('name', ['eval_period_itrs', 'checkpoint_period_itrs'])
def test_bad_hyperparameter_from_the_config(tmp_path, name):
  with open(os.path.join(REPO, 'config', 'point_mass.json')) as f:
    config = json.load(f)
  config.update({name: 0, 'record_dir': str(tmp_path)})
  path = tmp_path / 'c.json'
  path.write_text(json.dumps(config))
  assert_rejected(run_with(tmp_path, {'SAC_PARAMS': 'tests/params/recording_params.py',
                                      'SAC_CONFIG': str(path)}),
                  f'TrainParams.{name} must be a whole number >= 1, got 0')


def test_discrete_action_spec(tmp_path):
  assert_rejected(run_with(tmp_path, {'SAC_PARAMS': 'tests/params/discrete_params.py'}),
                  'the action spec is discrete (int64)')


def test_reverb_port_in_use(tmp_path):
  import socket  # pylint: disable=g-import-not-at-top
  with socket.socket() as busy:
    busy.bind(('127.0.0.1', 0))
    busy.listen()
    port = busy.getsockname()[1]
    assert_rejected(run_with(tmp_path, {'SAC_REVERB_PORT': str(port)}),
                    f'Reverb port {port} is already in use')
