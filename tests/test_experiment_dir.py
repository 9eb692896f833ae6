"""Where a run's experiment dir is: built by experiment_dir.experiment_root alone, for a run, a task
of an array job (its own dir) and a sweep (the tasks' dirs inside its own)."""
import os

from tfagents_system import REPO_ROOT
from tfagents_system.common import experiment_dir
from tfagents_system.launcher.run_settings import RunSettings

VARIABLES = {'SAC_NUM_COLLECT_WORKERS': '1', 'SAC_REVERB_CPUS': '1', 'SAC_TRAIN_CPUS': '1',
             'SAC_COLLECT_WORKER_CPUS': '1', 'SAC_EXP_NAME': 'exp', 'SAC_PARAMS': 'params.py',
             'SAC_CONFIG': 'config.json'}


def test_a_run_is_in_logs_and_an_array_task_in_a_dir_suffixed_with_its_task_id():
  assert experiment_dir.LOGS_DIR == os.path.join(REPO_ROOT, 'logs')
  assert experiment_dir.experiment_root('exp') == os.path.join(REPO_ROOT, 'logs', 'exp')
  assert experiment_dir.experiment_root('exp', None) == os.path.join(REPO_ROOT, 'logs', 'exp')
  assert experiment_dir.experiment_root('exp', '') == os.path.join(REPO_ROOT, 'logs', 'exp')
  # Task 0 is a task like the others: SLURM sets SLURM_ARRAY_TASK_ID=0.
  assert experiment_dir.experiment_root('exp', '0') == os.path.join(REPO_ROOT, 'logs', 'exp_0')
  assert experiment_dir.experiment_root('exp', '12') == os.path.join(REPO_ROOT, 'logs', 'exp_12')


def test_the_launcher_runs_in_the_dir_of_its_job_or_array_task():
  assert RunSettings.from_environ(VARIABLES).exp_dir == experiment_dir.experiment_root('exp')
  for task_id in ('0', '3'):
    settings = RunSettings.from_environ(dict(VARIABLES, SLURM_ARRAY_TASK_ID=task_id))
    assert settings.exp_dir == os.path.join(REPO_ROOT, 'logs', f'exp_{task_id}')
  # Outside an array job SLURM sets none, or an empty one.
  assert RunSettings.from_environ(dict(VARIABLES, SLURM_ARRAY_TASK_ID='')).exp_dir == (
      os.path.join(REPO_ROOT, 'logs', 'exp'))


def test_experiment_dir_paths_are_inside_the_root():
  experiment = experiment_dir.ExperimentDir(experiment_dir.experiment_root('exp', '1'))
  assert experiment.root == os.path.join(REPO_ROOT, 'logs', 'exp_1')
  assert experiment.service_dir('sac_train') == os.path.join(experiment.root, 'services',
                                                              'sac_train')
  assert experiment.log_file('sac_train') == os.path.join(experiment.root, 'logs', 'sac_train',
                                                          'current')
