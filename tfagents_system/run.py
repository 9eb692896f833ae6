"""Evaluates a saved policy: runs episodes, records an MP4, prints returns.

  python tfagents_system/run.py --params tfagents_system/point_mass_params.py \
      --exp_dir logs/point_mass --config config/point_mass.json --num_episodes 5 \
      --checkpoint policy_checkpoint_0000006000 --seed 108

Works without Reverb installed (e.g. on macOS): nothing imported here needs it.
"""
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make `tfagents_system` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
import imageio
from tf_agents.policies import py_tf_eager_policy

from tfagents_system.curriculum import Curriculum
from tfagents_system.experiment_dir import ExperimentDir
from tfagents_system.params_loading import load_train_params

flags.DEFINE_string('params', None, 'Python file defining class TrainParams.')
flags.DEFINE_string('exp_dir', None, 'Experiment dir, e.g. logs/<SAC_EXP_NAME>.')
flags.DEFINE_string('config', None, 'JSON environment config.')
flags.DEFINE_integer('num_episodes', 5, 'Episodes to run.')
flags.DEFINE_string('checkpoint', 'latest',
                    'Directory name under <exp_dir>/policies/checkpoints, or "latest".')
flags.DEFINE_integer('seed', 0, 'Seed passed to the environment constructor.')
flags.DEFINE_integer('curriculum_iter', None,
                     'Apply the curriculum values due at this iteration instead of the '
                     "checkpoint's own.")
flags.DEFINE_integer('fps', 30, 'Frames per second of the video.')
FLAGS = flags.FLAGS


def checkpoint_path(experiment: ExperimentDir, name: str) -> str:
  path = (experiment.latest_policy_checkpoint() if name == 'latest'
          else os.path.join(experiment.policy_checkpoints_dir, name))
  if not path or not os.path.isdir(path):
    raise app.UsageError(f'no policy checkpoint {name!r} in {experiment.policy_checkpoints_dir}')
  return path


def main(_):
  experiment = ExperimentDir(FLAGS.exp_dir)
  params = load_train_params(FLAGS.params, FLAGS.config)
  checkpoint = checkpoint_path(experiment, FLAGS.checkpoint)
  train_step = int(os.path.basename(checkpoint).rsplit('_', 1)[-1])
  # The checkpoint at train step s closes iteration s / num_steps_per_iter - 1.
  iteration = (FLAGS.curriculum_iter if FLAGS.curriculum_iter is not None
               else max(0, train_step // params.num_steps_per_iter - 1))

  policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
      experiment.greedy_policy_dir, load_specs_from_pbtxt=True)
  policy.update_from_checkpoint(checkpoint)
  args, kwargs = params.eval_env_args_kwargs()
  env = params.env_ctor(*args, seed=FLAGS.seed, **kwargs)
  curriculum_values = Curriculum.from_env_config(params.env_config).values_at(iteration)
  if curriculum_values:
    env.set_state(curriculum_values)

  name = f'{os.path.basename(checkpoint)}_iter{iteration}_seed{FLAGS.seed}'
  os.makedirs(os.path.join(experiment.root, 'videos'), exist_ok=True)
  video_path = os.path.join(experiment.root, 'videos', name + '.mp4')
  episodes = []
  with imageio.get_writer(video_path, fps=FLAGS.fps, macro_block_size=1) as video:
    for episode in range(FLAGS.num_episodes):
      time_step = env.reset()
      policy_state = policy.get_initial_state(1)
      video.append_data(env.render('rgb_array'))
      total, length = 0.0, 0
      while not time_step.is_last():
        step = policy.action(time_step, policy_state)
        policy_state = step.state
        time_step = env.step(step.action)
        video.append_data(env.render('rgb_array'))
        total += float(time_step.reward)
        length += 1
      episodes.append({'episode': episode, 'return': total, 'length': length})
      print(f'episode {episode}: return {total:.3f}, length {length}')
  env.close()

  result = {'checkpoint': os.path.basename(checkpoint), 'train_step': train_step,
            'curriculum_iteration': iteration, 'curriculum_values': curriculum_values,
            'seed': FLAGS.seed, 'video': video_path, 'episodes': episodes,
            'mean_return': sum(e['return'] for e in episodes) / max(1, len(episodes))}
  with open(os.path.join(experiment.root, 'videos', name + '.json'), 'w') as f:
    json.dump(result, f, indent=2)
  print(f"mean return {result['mean_return']:.3f} over {len(episodes)} episodes; video {video_path}")


if __name__ == '__main__':
  flags.mark_flags_as_required(['params', 'exp_dir', 'config'])
  app.run(main)
