"""What every program of a run does first: flags, threads, params, specs, agent."""
import gc
import os

from absl import flags
import tensorflow as tf
from tf_agents.train.utils import spec_utils
from tf_agents.train.utils import train_utils

from tfagents_system.common import params_loading
from tfagents_system.common import supervised_program
from tfagents_system.common import thread_pools
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.train_params_base import COLLECT_ENV
from tfagents_system.train_params_base import TrainParamsBase

flags.DEFINE_string('params', None, 'Python file defining class TrainParams.')
flags.DEFINE_string('config', None, 'JSON environment config.')
flags.DEFINE_string('reverb_address', None, 'host:port of the Reverb replay server.')
flags.DEFINE_integer('num_workers', 1, 'Number of collect workers in the run.')
flags.DEFINE_integer('run_seed', 0, 'Seed of this run; array tasks differ in it.')

FLAGS = flags.FLAGS


def size_thread_pools_to_cpus() -> None:
  """Sizes TensorFlow's thread pools to this process's CPUs."""
  cpu_count = len(os.sched_getaffinity(0))
  tf.config.threading.set_intra_op_parallelism_threads(thread_pools.intra_op_threads(cpu_count))
  tf.config.threading.set_inter_op_parallelism_threads(thread_pools.inter_op_threads(cpu_count))


def start_program(role: str) -> TrainParamsBase:
  """Ends with supervise, sizes TensorFlow's thread pools to this process's CPUs and loads
  TrainParams, with the run's overrides (a sweep task's) set as the launcher checked them."""
  cpus = supervised_program.start(role)
  size_thread_pools_to_cpus()
  params = params_loading.load_train_params(
      FLAGS.params, FLAGS.config, ExperimentDir(FLAGS.root_dir).read_params_overrides())
  params.compute_config = {'role': role, 'cpus': cpus, 'num_workers': FLAGS.num_workers}
  return params


def freeze_startup_objects() -> None:
  """Leaves the objects made so far out of Python's garbage collections: TensorFlow's,
  tf-agents', the agent's and its traces (~470,000 in the trainer) live as long as the program,
  and a full collection that went through them held Python's lock for ~120 ms (~18 ms once
  frozen, measured in-process during the policy export; it had held up the trainer's handling
  of a report by as much)."""
  gc.freeze()


def environment_specs(params: TrainParamsBase):
  """(time_step_spec, action_spec) as tensor specs, read off a collect env."""
  env = params.create_env(COLLECT_ENV, seed=0)
  try:
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
  finally:
    env.close()
  return time_step_spec, action_spec


def create_agent(params: TrainParamsBase, time_step_spec, action_spec, train_step=None):
  train_step = train_utils.create_train_step() if train_step is None else train_step
  agent = params.agent_ctor(time_step_spec, action_spec, train_step)
  agent.initialize()
  return agent, train_step
