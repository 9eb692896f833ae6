"""Evaluates a saved policy: runs episodes, records an MP4, prints returns.

  python tfagents_system/run.py --params tfagents_system/point_mass_params.py \
      --exp_dir logs/point_mass --config config/point_mass.json --num_episodes 5 \
      --checkpoint policy_checkpoint_0000006000 --seed 108

With --sweep (one or two, e.g. --sweep mass=0.5:2.0:7 --sweep friction=0.1,0.3), evaluates the
policy of one or more checkpoints on every cell of that grid of environment parameters instead and
writes a robustness map under <exp_dir>/robustness/ (robustness.py).

Works without Reverb installed (e.g. on macOS): nothing imported here needs it.
"""
import itertools
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make `tfagents_system` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
# Before TensorFlow loads, here and in a sweep's worker processes (they import this file
# again): its C++ start-up chatter stays off the terminal.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from absl import app
from absl import flags
from absl import logging
import imageio

from tfagents_system.common import episode_measures
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.experiment_dir import ExperimentDir
from tfagents_system.launcher.progress_display import quiet_terminal

with quiet_terminal():  # gym's notice, printed when tf-agents imports it
  from tfagents_system.common.params_loading import load_train_params
  from tfagents_system.tools import policy_evaluation
  from tfagents_system.tools import robustness
  from tfagents_system.train_params_base import EVAL_ENV

flags.DEFINE_string('params', None, 'Python file defining class TrainParams.')
flags.DEFINE_string('exp_dir', None, 'Experiment dir, e.g. logs/<SAC_EXP_NAME>.')
flags.DEFINE_string('config', None, 'JSON environment config.')
flags.DEFINE_integer('num_episodes', 5, 'Episodes to run.')
flags.DEFINE_string('checkpoint', 'latest',
                    'Directory name under <exp_dir>/policies/checkpoints, "latest", or "best" '
                    "(the policy whose evaluation in training scored highest, TrainParams."
                    'best_policy_score); with --sweep also several, comma-separated, or "all".')
flags.DEFINE_integer('seed', 0, 'Seed passed to the environment constructor.')
flags.DEFINE_multi_string('sweep', None,
                          'NAME=LOW:HIGH:STEPS or NAME=V1,V2,...: evaluate on every cell of the '
                          'grid of this env parameter (once or twice) instead; --num_episodes '
                          'per cell.')
flags.DEFINE_integer('jobs', None, 'With --sweep: processes, each on its own CPU; default: all '
                     'the CPUs this process may use.')
flags.DEFINE_bool('video', False, "With --sweep: also record each cell's first episode as an MP4 "
                  '(without --sweep run.py always records).')
flags.DEFINE_float('cell_timeout_s', 600, 'With --sweep: a cell whose episodes take longer '
                   'stops the sweep with an error (a stuck env or policy).')
flags.DEFINE_integer('curriculum_iter', None,
                     'Apply the curriculum values due at this iteration instead of the '
                     "checkpoint's own.")
flags.DEFINE_integer('fps', 30, 'Frames per second of the video.')
flags.DEFINE_enum('video_format', 'mp4', ['mp4', 'gif'], 'The video file: MP4, or an animated '
                  'GIF (for a README; keep it small with --frame_stride).')
flags.DEFINE_integer('frame_stride', 1, "Record every this many env steps' frames (each "
                     "episode's first frame always).", lower_bound=1)
FLAGS = flags.FLAGS


def main(_):
  if FLAGS.sweep:
    return robustness.main(robustness.SweepRequest(
        params=FLAGS.params, config=FLAGS.config, exp_dir=FLAGS.exp_dir, sweeps=FLAGS.sweep,
        checkpoints=FLAGS.checkpoint, num_episodes=FLAGS.num_episodes, seed=FLAGS.seed,
        jobs=FLAGS.jobs, curriculum_iter=FLAGS.curriculum_iter, video=FLAGS.video,
        video_fps=FLAGS.fps, cell_timeout_s=FLAGS.cell_timeout_s))
  logging.set_verbosity(logging.WARNING)  # tf-agents' info lines (the checkpoint it loads)
  experiment = ExperimentDir(FLAGS.exp_dir)
  # A sweep task's run: its TrainParams as its programs built them.
  with quiet_terminal():  # the env's module and pybullet print as they load
    params = load_train_params(FLAGS.params, FLAGS.config, experiment.read_params_overrides())
  try:
    checkpoint = policy_evaluation.policy_checkpoint(experiment, FLAGS.checkpoint)
  except policy_evaluation.CheckpointNotFound as e:
    raise app.UsageError(str(e)) from None
  train_step = policy_evaluation.checkpoint_train_step(checkpoint)
  iteration = (FLAGS.curriculum_iter if FLAGS.curriculum_iter is not None
               else policy_evaluation.checkpoint_iteration(train_step, params))

  policy = policy_evaluation.load_greedy_policy(experiment)
  policy.update_from_checkpoint(checkpoint)
  with quiet_terminal():
    env = params.create_env(EVAL_ENV, FLAGS.seed)
  curriculum_values = Curriculum.from_env_config(params.env_config).values_at(iteration)
  if curriculum_values:
    env.set_state(curriculum_values)

  name = f'{os.path.basename(checkpoint)}_iter{iteration}_seed{FLAGS.seed}'
  os.makedirs(os.path.join(experiment.root, 'videos'), exist_ok=True)
  video_path = os.path.join(experiment.root, 'videos', f'{name}.{FLAGS.video_format}')
  episodes, measures = [], []
  with _video_writer(video_path) as video:
    for number in range(FLAGS.num_episodes):
      episode = policy_evaluation.run_episode(env, policy, _every_nth(video.append_data,
                                                                      FLAGS.frame_stride))
      measures.append(episode.measures)
      episodes.append({'episode': number, 'return': episode.total_return,
                       'length': episode.length, **episode.measures})
      print(f'episode {number}: return {episode.total_return:.3f}, length {episode.length}'
            + _measures_text(episode.measures))
  env.close()

  mean_measures = episode_measures.means(measures)
  result = {'checkpoint': os.path.basename(checkpoint), 'train_step': train_step,
            'curriculum_iteration': iteration, 'curriculum_values': curriculum_values,
            'seed': FLAGS.seed, 'video': video_path, 'episodes': episodes,
            'mean_return': sum(e['return'] for e in episodes) / max(1, len(episodes)),
            **{'mean_' + name: value for name, value in mean_measures.items()}}
  with open(os.path.join(experiment.root, 'videos', name + '.json'), 'w') as f:
    json.dump(result, f, indent=2)
  print(f"mean return {result['mean_return']:.3f}{_measures_text(mean_measures)} over "
        f"{len(episodes)} episodes; video {video_path}")


def _video_writer(path: str):
  if FLAGS.video_format == 'gif':  # duration: milliseconds per frame; loop 0: for ever
    return imageio.get_writer(path, mode='I', duration=1000 / FLAGS.fps, loop=0)
  return imageio.get_writer(path, fps=FLAGS.fps, macro_block_size=1)


def _every_nth(on_frame, n: int):
  """on_frame for an episode's frames 0, n, 2n, ..."""
  frames = itertools.count()  # run_episode calls it in order, from the reset's frame
  def on_nth_frame(frame):
    if next(frames) % n == 0:
      on_frame(frame)
  return on_nth_frame


def _measures_text(measures) -> str:
  return ''.join(f', {name} {value:.3f}' for name, value in measures.items())


if __name__ == '__main__':
  flags.mark_flags_as_required(['params', 'exp_dir', 'config'])
  app.run(main)
