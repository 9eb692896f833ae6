"""Running a saved greedy policy: which checkpoint, its train step and iteration, one episode.

Shared by run.py and the robustness sweeps (robustness.py); needs no Reverb.
"""
import dataclasses
import os
from typing import Callable, Dict, Optional

import numpy as np
from tf_agents.policies import policy_saver
from tf_agents.policies import py_tf_eager_policy

from tfagents_system.common import episode_measures
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.train_params_base import TrainParamsBase


class CheckpointNotFound(ValueError):
  """No such policy checkpoint, in one line."""


def policy_checkpoint(experiment: ExperimentDir, name: str) -> str:
  """The path of policy checkpoint `name`: a dir name under policies/checkpoints, 'latest', or
  'best' (status.json's best_policy, trainer/best_policy.py)."""
  if name == 'best':
    best = (experiment.read_status() or {}).get('best_policy')
    if not best:
      raise CheckpointNotFound(f'no best policy yet in {experiment.status_file} (the first '
                               'evaluation after iteration 0 sets it)')
    name = best['checkpoint']
  path = (experiment.latest_policy_checkpoint() if name == 'latest'
          else os.path.join(experiment.policy_checkpoints_dir, name))
  if not path or not os.path.isdir(path):
    raise CheckpointNotFound(f'no policy checkpoint {name!r} in {experiment.policy_checkpoints_dir}')
  # The SavedModel the checkpoint is loaded into; the trainer exports it while it trains, and
  # PolicySaver writes its specs last.
  specs = os.path.join(experiment.greedy_policy_dir, policy_saver.POLICY_SPECS_PBTXT)
  if not os.path.exists(specs):
    raise CheckpointNotFound(f'no greedy policy SavedModel in {experiment.greedy_policy_dir} yet '
                             '(the trainer writes it in its first minutes of training)')
  return path


def checkpoint_train_step(checkpoint: str) -> int:
  return int(os.path.basename(checkpoint).rsplit('_', 1)[-1])


def checkpoint_iteration(train_step: int, params: TrainParamsBase) -> int:
  """The checkpoint at train step s closes iteration s / num_steps_per_iter - 1."""
  return max(0, train_step // params.num_steps_per_iter - 1)


def load_greedy_policy(experiment: ExperimentDir) -> py_tf_eager_policy.SavedModelPyTFEagerPolicy:
  """The greedy SavedModel, with the variables it was exported with: update_from_checkpoint
  gives it a checkpoint's."""
  return py_tf_eager_policy.SavedModelPyTFEagerPolicy(experiment.greedy_policy_dir,
                                                      load_specs_from_pbtxt=True)


@dataclasses.dataclass
class Episode:
  total_return: float
  length: int
  measures: Dict[str, float]  # the env's episode_measures() (common/episode_measures.py)


def run_episode(env, policy, on_frame: Optional[Callable[[np.ndarray], None]] = None) -> Episode:
  """One episode from env.reset(); `on_frame` gets every rendered frame, the first one
  included."""
  time_step = env.reset()
  policy_state = policy.get_initial_state(1)
  if on_frame:
    on_frame(env.render('rgb_array'))
  total, length = 0.0, 0
  while not time_step.is_last():
    step = policy.action(time_step, policy_state)
    policy_state = step.state
    time_step = env.step(step.action)
    if on_frame:
      on_frame(env.render('rgb_array'))
    total += float(time_step.reward)
    length += 1
  return Episode(total, length, episode_measures.read(env))

