"""The replay server's tables come from the run spec the launcher's checks write: what they are
made of survives the JSON file, and the server program needs nothing of the user's code."""
import json
import subprocess
import sys

import reverb
import tensorflow as tf
from tf_agents.experimental.distributed import reverb_variable_container

from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.launcher import preflight
from tfagents_system.protocol import episode_items
from tfagents_system.protocol import replay_tables

from training_run import REPO

PARAMS = 'tfagents_system/point_mass_params.py'
CONFIG = 'config/point_mass.json'


def test_the_names_are_those_of_tf_agents_variable_container():
  assert replay_tables.VARIABLE_TABLE == reverb_variable_container.DEFAULT_TABLE
  assert replay_tables.POLICY_KEY == reverb_variable_container.POLICY_KEY
  assert replay_tables.TRAIN_STEP_KEY == reverb_variable_container.TRAIN_STEP_KEY


def test_tables_made_from_the_written_run_spec_take_what_the_programs_write():
  spec = json.loads(json.dumps(preflight.check_run(PARAMS, CONFIG, 0)))  # as the file holds it
  tables = replay_tables.make_tables(replay_tables.TableSpecs.from_run_spec(spec))

  params = params_loading.load_train_params(PARAMS, CONFIG)
  agent, train_step = program_setup.create_agent(params, *program_setup.environment_specs(params))
  server = reverb.Server(tables)
  try:
    client = server.localhost_client()
    info = client.server_info()
    item = episode_items.item_signature(agent.collect_data_spec,
                                        episode_items.item_steps(params.episode_length))
    for table in (replay_tables.EXPERIENCE_TABLE, replay_tables.FEED_TABLE):
      assert info[table].signature == item
      assert info[table].max_size == params.n_episodes_in_buffer
    # The trainer's push and a worker's pull of the policy, as iteration_sync makes them.
    variables = replay_tables.synced_variables(agent.collect_policy.variables(), train_step)
    container = reverb_variable_container.ReverbVariableContainer(
        f'localhost:{server.port}', table_names=[replay_tables.VARIABLE_TABLE])
    train_step.assign(7)
    container.push(variables, replay_tables.VARIABLE_TABLE)
    pulled = container.pull(replay_tables.VARIABLE_TABLE)
    assert int(pulled[replay_tables.TRAIN_STEP_KEY]) == 7
    for value, variable in zip(pulled[replay_tables.POLICY_KEY],
                               agent.collect_policy.variables()):
      tf.debugging.assert_equal(value, variable)
  finally:
    server.stop()


def test_the_replay_server_program_loads_no_tf_agents_and_no_user_code():
  # It shares a CPU with the workers at start-up when CPUs are scarce: what it does not import,
  # they get.
  loaded = json.loads(subprocess.run(
      [sys.executable, '-c', 'import json, sys; import tfagents_system.sac_replay_buffer; '
       'print(json.dumps(sorted(sys.modules)))'],
      cwd=REPO, capture_output=True, text=True, check=True).stdout)
  assert not [m for m in loaded if m.startswith('tf_agents')]
  for heavy in ('common.program_setup', 'common.params_loading', 'envs', 'protocol.iteration_sync',
                'protocol.trainer_side', 'protocol.worker_side'):
    assert f'tfagents_system.{heavy}' not in loaded


def test_the_tables_take_a_sweep_tasks_overrides():
  spec = preflight.check_run(PARAMS, CONFIG, 0, {'n_episodes_in_buffer': 123})
  assert replay_tables.TableSpecs.from_run_spec(spec).capacity_episodes == 123
