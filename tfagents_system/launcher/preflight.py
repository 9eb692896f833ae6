"""What is checked before any program of a run starts, so that bad input fails in one line.

Loads the params and config the way the programs will, checks the hyperparameters
(params_checks.py), builds a collect and an eval env, gives them every curriculum value,
and builds the agent. A dir that already holds a run is resumed only when the agent it
would build is the same.
"""
import json
import os
from typing import Any, Dict, Mapping, Optional

import numpy as np
import tensorflow as tf
from tf_agents.train.utils import spec_utils

from tfagents_system import workers
from tfagents_system.common import episode_measures
from tfagents_system.common import params_loading
from tfagents_system.common import program_setup
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher import params_checks
from tfagents_system.protocol import episode_items
from tfagents_system.protocol import replay_tables
from tfagents_system.protocol.iteration_sync import ReportLayout
from tfagents_system.protocol.iteration_sync import WorkerReport
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.train_params_base import EVAL_ENV
from tfagents_system.train_params_base import TrainParamsBase


class PreflightError(ValueError):
  """Input that a run cannot start with, described in one line."""


def _one_line(error: Exception) -> str:
  text = str(error).strip().splitlines()
  return f'{type(error).__name__}: {text[0] if text else ""}'


def build_envs(params: TrainParamsBase, run_seed: int):
  """Worker 0's collect and eval envs, as the worker builds them."""
  envs = {}
  for role, seed in zip((COLLECT_ENV, EVAL_ENV), workers.env_seeds(run_seed, 0)):
    try:
      envs[role] = params.create_env(role, seed)
    except Exception as e:  # pylint: disable=broad-except
      raise PreflightError(f'env_ctor failed for the {role} env (seed {seed}): '
                           f'{_one_line(e)}') from None
  return envs


def check_action_spec(env) -> None:
  for spec in tf.nest.flatten(env.action_spec()):
    if not np.issubdtype(spec.dtype, np.floating):
      raise PreflightError(f'the action spec is discrete ({spec.dtype.name}); SAC needs '
                           'continuous (float) actions')


def check_curriculum(params: TrainParamsBase, envs) -> None:
  """Gives both envs every curriculum value, in the order a run would."""
  curriculum = Curriculum.from_env_config(params.env_config)
  for schedule in curriculum.schedules:
    for iteration, value in zip(schedule.iters, schedule.values):
      for role, env in envs.items():
        try:
          env.set_state({schedule.name: value})
        except Exception as e:  # pylint: disable=broad-except
          raise PreflightError(
              f'set_state({{{schedule.name!r}: {value:g}}}) of the curriculum at iteration '
              f'{iteration} failed on the {role} env: {_one_line(e)}') from None


def check_eval_measures(params: TrainParamsBase, env) -> None:
  """The measures the params name are among those the eval env gives (read after a reset)."""
  if not params.eval_measures:
    return
  if not callable(getattr(env, 'episode_measures', None)):
    raise PreflightError(f'TrainParams.eval_measures names {list(params.eval_measures)}, but the '
                         'eval env has no episode_measures() method')
  env.reset()
  given = episode_measures.read(env)
  missing = [name for name in params.eval_measures if name not in given]
  if missing:
    raise PreflightError(f"TrainParams.eval_measures names {missing[0]!r}, which the eval env's "
                         f'episode_measures() does not give (it gives: {", ".join(given) or "none"})')


def run_spec(params: TrainParamsBase, env) -> Dict[str, Any]:
  """What a checkpoint depends on: the specs and every variable of the agent, and the replay
  server's tables."""
  _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)
  tables = replay_tables.TableSpecs.of(
      episode_items.item_signature(agent.collect_data_spec,
                                   episode_items.item_steps(params.episode_length)),
      params.n_episodes_in_buffer,
      replay_tables.synced_variables(agent.collect_policy.variables(), train_step),
      WorkerReport.array_length(ReportLayout.of(params)))
  return {'time_step_spec': repr(time_step_spec),
          'action_spec': repr(action_spec),
          'variables': [[v.name, v.shape.as_list()] for v in agent.variables],
          replay_tables.RUN_SPEC_KEY: tables.to_json()}


def check_resumable(experiment: ExperimentDir, spec: Dict[str, Any]) -> bool:
  """True when the dir holds a run to resume; refuses one with other specs."""
  if not os.path.exists(experiment.run_spec_file):
    return False
  saved = experiment.read_run_spec()
  for key in ('time_step_spec', 'action_spec', 'variables'):
    if saved.get(key) != spec[key]:
      raise PreflightError(
          f'{experiment.root} holds a run whose agent differs ({key} changed); '
          'start over with ./run_script.sh --fresh (the old dir is kept under a new name)')
  return True


def save_run_spec(experiment: ExperimentDir, spec: Dict[str, Any]) -> None:
  with open(experiment.run_spec_file, 'w') as f:
    json.dump(spec, f, indent=1)


def check_run(params_path: str, config_path: str, run_seed: int,
              overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
  """Every check that needs the params (with `overrides` set on them); returns the run's spec."""
  params = params_loading.load_train_params(params_path, config_path, overrides)
  params_checks.check_hyperparameters(params)
  envs = build_envs(params, run_seed)
  try:
    check_action_spec(envs[COLLECT_ENV])
    check_curriculum(params, envs)
    check_eval_measures(params, envs[EVAL_ENV])
    return run_spec(params, envs[COLLECT_ENV])
  finally:
    for env in envs.values():
      env.close()
