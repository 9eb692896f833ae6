"""Where a training run's experiment dir is, and where everything of the run lives inside it."""
import json
import os
import re
from typing import Any, Dict, List, Optional

from tfagents_system import REPO_ROOT

LOGS_DIR = os.path.join(REPO_ROOT, 'logs')

# tf-agents' PolicySavedModelTrigger names a policy checkpoint by its train step, 10 digits.
POLICY_CHECKPOINT_PREFIX = 'policy_checkpoint_'

REPLAY_PROGRAM = 'sac_replay_buffer'
TRAIN_PROGRAM = 'sac_train'


def collect_program(worker_index: int) -> str:
  return f'sac_collect_{worker_index}'


def worker_index(program: str) -> Optional[int]:
  """i for sac_collect_i, None for the other programs."""
  prefix = collect_program(0)[:-1]
  return int(program[len(prefix):]) if program.startswith(prefix) else None


def program_names(num_workers: int) -> List[str]:
  return [REPLAY_PROGRAM, TRAIN_PROGRAM] + [collect_program(i) for i in range(num_workers)]


def experiment_root(exp_name: str, array_task_id: Optional[str] = None) -> str:
  """logs/<exp>, or logs/<exp>_<task id> for a task of an array job (SLURM_ARRAY_TASK_ID); also a
  sweep's dir, whose tasks are in logs/<exp>/<task name> (launcher/sweep.py)."""
  return os.path.join(LOGS_DIR, exp_name + (f'_{array_task_id}' if array_task_id else ''))


def format_overrides(overrides: Dict[str, Any]) -> str:
  return ', '.join(f'{name}={json.dumps(value)}' for name, value in overrides.items()) or 'none'


class ExperimentDir:
  """Paths of one experiment, e.g. logs/<SAC_EXP_NAME>."""

  def __init__(self, root: str):
    self.root = os.path.abspath(root)

  def _path(self, *parts: str) -> str:
    return os.path.join(self.root, *parts)

  # Inputs, copied at launch so a run can be reproduced and evaluated later.
  @property
  def params_copy(self) -> str:
    return self._path('params.py')

  @property
  def config_copy(self) -> str:
    return self._path('config.json')

  @property
  def variables_copy(self) -> str:
    return self._path('training_variables.sh')

  @property
  def params_overrides_file(self) -> str:
    """TrainParams attributes set after its __init__ (a sweep task's combination), as JSON."""
    return self._path('params_overrides.json')

  def write_params_overrides(self, overrides: Dict[str, Any]) -> None:
    with open(self.params_overrides_file, 'w') as f:
      json.dump(overrides, f, indent=1)

  def read_params_overrides(self) -> Dict[str, Any]:
    """{} for a run without overrides (or from before they existed)."""
    try:
      with open(self.params_overrides_file) as f:
        return json.load(f)
    except FileNotFoundError:
      return {}

  @property
  def run_spec_file(self) -> str:
    """The specs and agent variables of the run, so a resumed run can be checked against them,
    and what the replay server's tables are made of (written by the launcher's checks)."""
    return self._path('run_spec.json')

  def read_run_spec(self) -> Dict[str, Any]:
    with open(self.run_spec_file) as f:
      return json.load(f)

  # daemontools: the directory svscan watches, one service dir per program.
  @property
  def services_dir(self) -> str:
    return self._path('services')

  def service_dir(self, program: str) -> str:
    return self._path('services', program)

  @property
  def cpu_turns_dir(self) -> str:
    """The lock files of workers that take turns on shared CPUs (common/cpu_turns.py)."""
    return self._path('cpu_turns')

  def log_dir(self, program: str) -> str:
    """multilog's directory: the program's log is `current` in it."""
    return self._path('logs', program)

  def log_file(self, program: str) -> str:
    return os.path.join(self.log_dir(program), 'current')

  # The launcher's: one run at a time in the dir, and its guard's account of a stop it made.
  @property
  def lock_file(self) -> str:
    return self._path('run.lock')

  @property
  def guard_log_file(self) -> str:
    return self._path('logs', 'run_guard.log')

  # Trainer outputs; `train/` is tf-agents' Learner layout (summaries, checkpoints).
  @property
  def train_dir(self) -> str:
    return self._path('train')

  @property
  def trainer_checkpoints_dir(self) -> str:
    return self._path('train', 'checkpoints')

  @property
  def replay_checkpoints_dir(self) -> str:
    return self._path('replay_checkpoints')

  @property
  def eval_dir(self) -> str:
    return self._path('eval')

  @property
  def policies_dir(self) -> str:
    return self._path('policies')

  @property
  def greedy_policy_dir(self) -> str:
    return self._path('policies', 'greedy_policy')

  @property
  def policy_checkpoints_dir(self) -> str:
    return self._path('policies', 'checkpoints')

  def policy_checkpoints(self) -> List[str]:
    """The complete policy checkpoints, oldest first: a save that failed (a full disk) can
    leave a dir without the index, which TensorFlow writes last."""
    if not os.path.isdir(self.policy_checkpoints_dir):
      return []
    paths = (os.path.join(self.policy_checkpoints_dir, n)
             for n in sorted(os.listdir(self.policy_checkpoints_dir))
             if n.startswith(POLICY_CHECKPOINT_PREFIX))
    return [path for path in paths if _is_complete_policy_checkpoint(path)]

  def policy_checkpoint_path(self, train_step: int) -> str:
    return os.path.join(self.policy_checkpoints_dir, '%s%010d' % (POLICY_CHECKPOINT_PREFIX,
                                                                   train_step))

  def policy_checkpoint_at(self, train_step: int) -> Optional[str]:
    """The complete policy checkpoint of `train_step`, or None."""
    path = self.policy_checkpoint_path(train_step)
    return path if _is_complete_policy_checkpoint(path) else None

  def latest_policy_checkpoint(self) -> Optional[str]:
    checkpoints = self.policy_checkpoints()
    return checkpoints[-1] if checkpoints else None

  @property
  def robustness_dir(self) -> str:
    """Robustness maps of the policy checkpoints (run.py --sweep)."""
    return self._path('robustness')

  def latest_trainer_checkpoint_step(self) -> Optional[int]:
    """The train step of the trainer checkpoint a restart restores, from TensorFlow's
    `checkpoint` file (rewritten only after a save succeeded); read without TensorFlow."""
    try:
      with open(os.path.join(self.trainer_checkpoints_dir, 'checkpoint')) as f:
        match = re.search(r'^model_checkpoint_path: ".*ckpt-(\d+)"', f.read(), re.M)
    except FileNotFoundError:
      return None
    return int(match.group(1)) if match else None

  # The trainer's account of the run, read by the launcher's progress line.
  @property
  def status_file(self) -> str:
    return self._path('status.json')

  def write_status(self, status: Dict[str, Any]) -> None:
    temporary = self.status_file + '.tmp'
    with open(temporary, 'w') as f:
      json.dump(status, f)
    os.replace(temporary, self.status_file)  # readers never see half a file

  def read_status(self) -> Optional[Dict[str, Any]]:
    try:
      with open(self.status_file) as f:
        return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
      return None

  def count_start(self, program: str) -> int:
    """How many times `program` started in this dir before (0 the first time); counts this start."""
    path = self._path('starts', program)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
      with open(path) as f:
        before = int(f.read())
    except (FileNotFoundError, ValueError):
      before = 0
    temporary = path + '.tmp'
    with open(temporary, 'w') as f:
      f.write(str(before + 1))
    os.replace(temporary, path)
    return before


def _is_complete_policy_checkpoint(path: str) -> bool:
  return os.path.exists(os.path.join(path, 'variables', 'variables.index'))
