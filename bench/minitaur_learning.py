"""Does the Minitaur example learn to walk, and how fast: `./run_script.sh
training_variables_minitaur.sh` end to end, once per seed, then every policy checkpoint measured.

  python -m bench.minitaur_learning [--seeds 0 1] [--minutes 45]
  python -m bench.minitaur_learning --analyze logs/minitaur_learning_seed0 ...  # finished runs

Each run is the user's (training_variables_minitaur.sh, config/minitaur.json) in its own
experiment dir, logs/minitaur_learning_seed<k>, kept for run.py. It ends at the config's num_iter,
or is stopped (cleanly, checkpoints kept) after --minutes of wall time. Then:
- every policy checkpoint's greedy policy walks --episodes 1000-step episodes on the nominal
  physics (mass and friction 1.0) and on the curriculum's final ones (`run.py --sweep` on those
  two values of each: a 2x2 map per checkpoint); the forward distance is pybullet's base
  position (MinitaurEnv.episode_measures), the return the env's reward;
- a random policy walks the same episodes, for comparison;
- the policy a user takes at the end, `run.py --checkpoint best` (status.json's best_policy: the
  best of the run's evaluations on the final physics; the last checkpoint for a run without one),
  gets a robustness map around the trained range, and an animated GIF (`--video_format gif`);
- peak RSS per program (sampled while the run runs, VmHWM) and the experiment dir's disk use.
The learning curves (eval return and forward distance against env steps and wall time) and the
numbers go to docs/minitaur.md, the figures to docs/minitaur/. What was measured of a run stays in
its experiment dir (minitaur_analysis.json): --analyze of several runs measures only those not
measured yet, or with a newer checkpoint.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from tfagents_system.launcher import progress_display

with progress_display.quiet_terminal():  # TensorFlow's and gym's import chatter
  from bench import common
  from bench import shared_runs
  from tfagents_system.common import episode_measures
  from tfagents_system.common import experiment_dir
  from tfagents_system.common import summary_tags as tags
  from tfagents_system.common.curriculum import Curriculum
  from tfagents_system.common.params_loading import load_train_params
  from tfagents_system.launcher import script_run

VARIABLES = os.path.join(common.REPO, 'training_variables_minitaur.sh')
PARAMS = 'tfagents_system/minitaur_params.py'
CONFIG = 'config/minitaur.json'
DOCS = os.path.join(common.REPO, 'docs')
FIGURES = os.path.join(DOCS, 'minitaur')
DISTANCE = 'forward_distance_m'
NOMINAL = {'mass': 1.0, 'friction': 1.0}
ROBUSTNESS_GRID = ('mass=0.8:1.6:5', 'friction=0.4:1.0:4')
GIF_ARGS = ('--video_format', 'gif', '--frame_stride', '4', '--fps', '25', '--num_episodes', '1',
            '--seed', '7')
RSS_SAMPLE_S = 30.0
PROGRESS_EVERY_S = 300.0
TRAINING_RECORD = 'minitaur_learning.json'  # in the experiment dir: what train() measured
ANALYSIS_RECORD = 'minitaur_analysis.json'  # in the experiment dir: what analyze() measured


def user_variables() -> Dict[str, str]:
  with open(VARIABLES) as f:
    pairs = [line.strip().split('=', 1) for line in f
             if '=' in line and not line.lstrip().startswith('#')]
  return {key: value for key, value in pairs}


def final_physics(exp_dir: str) -> Dict[str, float]:
  """The curriculum's last values in the run's own config (the nominal ones where it has none)."""
  with open(os.path.join(exp_dir, 'config.json')) as f:
    config = json.load(f)
  values = Curriculum.from_env_config(config).values_at(2**62)  # every value given by then
  return {name: values.get(name, NOMINAL[name]) for name in NOMINAL}


class PeakMemory:
  """The programs' VmHWM, sampled until stopped (a program restarted by supervise starts anew:
  the largest sample is kept)."""

  def __init__(self, run: script_run.ScriptRun, programs: Sequence[str]):
    self.peak_mib: Dict[str, float] = {}
    self._run, self._programs = run, programs
    self._stopped = threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)
    self._thread.start()

  def _sample(self) -> None:
    while not self._stopped.wait(RSS_SAMPLE_S):
      self.sample()

  def sample(self) -> None:
    for program in self._programs:
      try:
        mib = shared_runs.status_kib(self._run.program_pid(program), 'VmHWM') / 1024
      except (OSError, KeyError, TypeError):  # not up at this moment
        continue
      self.peak_mib[program] = max(mib, self.peak_mib.get(program, 0.0))

  def stop(self) -> Dict[str, float]:
    self._stopped.set()
    self._thread.join(RSS_SAMPLE_S + 10)
    return self.peak_mib


def train(seed: int, minutes: float) -> str:
  """One run of the user's example; returns its experiment dir, where it records what it
  measured of the run (TRAINING_RECORD)."""
  variables = dict(user_variables(), SAC_EXP_NAME=f'minitaur_learning_seed{seed}',
                   SAC_SEED=str(seed))
  run = script_run.ScriptRun(variables, os.path.join('/tmp', f'minitaur_learning_{seed}.sh'))
  shutil.rmtree(run.exp_dir, ignore_errors=True)  # a fresh run, not a resume
  num_workers = int(variables['SAC_NUM_COLLECT_WORKERS'])
  run.start()
  memory = PeakMemory(run, experiment_dir.program_names(num_workers))
  deadline = time.monotonic() + minutes * 60
  try:
    while True:
      try:
        run.wait_for(lambda status: status.get('done'),
                     max(1.0, min(PROGRESS_EVERY_S, deadline - time.monotonic())), poll_s=5.0)
        stopped_by_budget = False
        break
      except TimeoutError:
        print(progress_display.format_progress(run.status() or {}), flush=True)
        if time.monotonic() >= deadline:
          stopped_by_budget = True
          break
    memory.sample()
  finally:
    peak = memory.stop()
    run.end()
  print(f'seed {seed}: run ended ({"wall-time budget" if stopped_by_budget else "num_iter"})',
        flush=True)
  trained = {'seed': seed, 'stopped_by_budget': stopped_by_budget, 'peak_rss_mib': peak,
             'wall_minutes': (time.time() - run.started_at) / 60}
  with open(os.path.join(run.exp_dir, TRAINING_RECORD), 'w') as f:
    json.dump(trained, f)
  return run.exp_dir


def run_py(exp_dir: str, *args: str) -> str:
  """run.py on the run's policy; its output (it prints its tables and results)."""
  argv = [sys.executable, 'tfagents_system/run.py', '--params', PARAMS, '--exp_dir', exp_dir,
          '--config', os.path.join(exp_dir, 'config.json'), *args]
  result = subprocess.run(argv, cwd=common.REPO, capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise RuntimeError(f'{" ".join(argv)} failed:\n{result.stderr[-3000:]}')
  return result.stdout


def sweep_arg(name: str, values: Sequence[float]) -> str:
  return f'{name}=' + ','.join(f'{v:g}' for v in values)


def checkpoint_measures(exp_dir: str, final: Dict[str, float], episodes: int) -> List[dict]:
  """Every policy checkpoint on the nominal and the final physics (a 2x2 sweep each)."""
  run_py(exp_dir, '--checkpoint', 'all', '--num_episodes', str(episodes),
         *[a for name in NOMINAL for a in ('--sweep', sweep_arg(name, [NOMINAL[name], final[name]]))])
  experiment = experiment_dir.ExperimentDir(exp_dir)
  rows = []
  key = lambda values: tuple(round(values[name], 6) for name in NOMINAL)
  for checkpoint in sorted(os.listdir(experiment.policy_checkpoints_dir)):
    with open(os.path.join(experiment.robustness_dir, checkpoint, 'mass_friction.json')) as f:
      report = json.load(f)
    cells = {key(c['values']): c for c in report['cells']}
    nominal, at_final = cells[key(NOMINAL)], cells[key(final)]
    rows.append({'checkpoint': checkpoint, 'train_step': report['train_step'],
                 'iteration': report['iteration'],
                 'nominal_distance': nominal['mean_' + DISTANCE],
                 'final_distance': at_final['mean_' + DISTANCE],
                 'final_distances': [m[DISTANCE] for m in at_final['measures']],
                 'nominal_return': nominal['mean_return'], 'final_return': at_final['mean_return'],
                 'cells': [(c['values'], c['mean_' + DISTANCE]) for c in report['cells']]})
  return rows


def random_policy_distances(final: Dict[str, float], episodes: int) -> Dict[str, float]:
  """A uniformly random policy's mean forward distance on both physics, same episode length."""
  with progress_display.quiet_terminal():  # pybullet_envs' prints as it is imported
    params = load_train_params(PARAMS, os.path.join(common.REPO, CONFIG))
  rng = np.random.default_rng(0)
  distances = {}
  for label, physics in (('nominal', NOMINAL), ('final', final)):
    measured = []
    for episode in range(episodes):
      with progress_display.quiet_terminal():  # pybullet's prints as it loads
        env = params.create_env('eval', 10_000 + episode)
      env.set_state(dict(physics))
      time_step = env.reset()
      while not time_step.is_last():
        time_step = env.step(rng.uniform(-1, 1, env.action_spec().shape).astype(np.float32))
      measured.append(episode_measures.read(env))
      env.close()
    distances[label] = episode_measures.means(measured)[DISTANCE]
  return distances


def disk_use_mib(exp_dir: str) -> Dict[str, float]:
  def size(path):
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(path)
               for n in names if not os.path.islink(os.path.join(d, n)))
  use = {entry: size(os.path.join(exp_dir, entry)) / 2**20 for entry in sorted(os.listdir(exp_dir))
         if os.path.isdir(os.path.join(exp_dir, entry))}
  use['total'] = size(exp_dir) / 2**20
  return use


def learning_curve(exp_dir: str):
  """Eval return and forward distance at every evaluation of the run (on the curriculum's
  physics of the time), and the train summaries' env steps and wall time."""
  from tfagents_system.tools import plot  # pylint: disable=g-import-not-at-top
  run = plot.load_runs([exp_dir])[0]
  return run.eval[tags.RETURN], run.eval.get(tags.EPISODE_MEASURES_PREFIX + DISTANCE), run.train[
      tags.ENV_STEPS]


def training_record(exp_dir: str) -> dict:
  """What train() measured of the run, if it ran it."""
  path = os.path.join(exp_dir, TRAINING_RECORD)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def best_policy(exp_dir: str) -> Optional[dict]:
  return (experiment_dir.ExperimentDir(exp_dir).read_status() or {}).get('best_policy')


def shown_checkpoint(exp_dir: str) -> str:
  """The policy a user takes at the end of the run: its best, else its last checkpoint."""
  best = best_policy(exp_dir)
  experiment = experiment_dir.ExperimentDir(exp_dir)
  return best['checkpoint'] if best else os.path.basename(experiment.latest_policy_checkpoint())


def analyze(exp_dir: str, episodes: int) -> dict:
  """Every checkpoint measured, the random policy, the run's record."""
  final = final_physics(exp_dir)
  eval_return, eval_distance, env_steps = learning_curve(exp_dir)
  checkpoints = checkpoint_measures(exp_dir, final, episodes)
  for row in checkpoints:
    row['env_steps'] = float(np.interp(row['train_step'], env_steps.steps, env_steps.values))
    row['minutes'] = float(np.interp(row['train_step'], env_steps.steps, env_steps.seconds)) / 60
  status = experiment_dir.ExperimentDir(exp_dir).read_status() or {}
  return {
      'exp_dir': exp_dir, 'final_physics': final, 'episodes_per_measure': episodes,
      'eval': {'train_step': eval_return.steps.tolist(), 'return': eval_return.values.tolist(),
               'forward_distance': None if eval_distance is None else eval_distance.values.tolist(),
               'minutes': (eval_return.seconds / 60).tolist(),
               'env_steps': np.interp(eval_return.steps, env_steps.steps,
                                      env_steps.values).tolist()},
      'checkpoints': checkpoints, 'random_policy': random_policy_distances(final, episodes),
      'train_step': status.get('train_step'), 'iteration': status.get('iteration'),
      'env_steps': status.get('env_steps'), 'disk_mib': disk_use_mib(exp_dir),
      # A run only analyzed: its wall time from its first summary (after start-up) to its last.
      'wall_minutes': float(env_steps.seconds[-1]) / 60, **training_record(exp_dir)}


def shown_policy_analysis(exp_dir: str) -> dict:
  """The robustness map and the GIF of the policy a user takes at the end of the run."""
  shown = shown_checkpoint(exp_dir)
  swept = run_py(exp_dir, '--checkpoint', shown, '--num_episodes', '2',
                 *[a for axis in ROBUSTNESS_GRID for a in ('--sweep', axis)])
  gif = run_py(exp_dir, '--checkpoint', shown, *GIF_ARGS).strip().rsplit('video ', 1)[-1]
  return {'shown_checkpoint': shown, 'best_policy': best_policy(exp_dir),
          'robustness_table': swept[swept.index(shown + ' ('):swept.index('  written: ')],
          'robustness_png': os.path.join(experiment_dir.ExperimentDir(exp_dir).robustness_dir,
                                         shown, 'mass_friction.png'),
          'gif': gif}


def stored_or_new_analysis(exp_dir: str, episodes: int) -> dict:
  """analyze()'s and shown_policy_analysis()'s results, kept in the experiment dir: the
  checkpoints are measured again only when the run has a newer one or --episodes changed, the
  shown policy only when it is another: docs of several runs are remade in seconds."""
  path = os.path.join(exp_dir, ANALYSIS_RECORD)
  latest = max(os.listdir(experiment_dir.ExperimentDir(exp_dir).policy_checkpoints_dir))
  result = None
  if os.path.exists(path):
    with open(path) as f:
      result = json.load(f)
    if (result['checkpoints'][-1]['checkpoint'] != latest
        or result['episodes_per_measure'] != episodes):
      result = None
  if result is None:
    result = analyze(exp_dir, episodes)
  if result.get('shown_checkpoint') != shown_checkpoint(exp_dir):
    result.update(shown_policy_analysis(exp_dir))
  with open(path, 'w') as f:
    json.dump(result, f)
  return result


def draw_curves(results: Sequence[dict], path: str) -> None:
  """Eval return and forward distance, against env steps and against wall time, every seed."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  figure = Figure(figsize=(10, 8 + 0.5 * len(results)))
  FigureCanvasAgg(figure)
  panels = figure.subplots(2, 2)
  for column, (x_key, x_label, scale) in enumerate((('env_steps', 'env steps (thousands)', 1e-3),
                                                     ('minutes', 'wall time (min)', 1.0))):
    for result in results:
      run = os.path.basename(result['exp_dir'])
      panels[0][column].plot(np.array(result['eval'][x_key]) * scale, result['eval']['return'],
                             label=f'{run}: eval episodes of the run')
      if result['eval']['forward_distance'] is not None:
        panels[1][column].plot(np.array(result['eval'][x_key]) * scale,
                               result['eval']['forward_distance'], color='tab:green', alpha=0.5,
                               label=f"{run}: eval episodes of the run (the curriculum's physics)")
      x = np.array([row[x_key] for row in result['checkpoints']]) * scale
      panels[1][column].plot(x, [row['final_distance'] for row in result['checkpoints']],
                             marker='o', label=f'{run}: final mass and friction')
      panels[1][column].plot(x, [row['nominal_distance'] for row in result['checkpoints']],
                             marker='.', linestyle=':', label=f'{run}: nominal physics')
      if result.get('best_policy'):
        best = checkpoint_row(result, result['best_policy']['checkpoint'])
        panels[1][column].plot([best[x_key] * scale], [best['final_distance']], marker='*',
                               markersize=14, linestyle='', color='gold', markeredgecolor='k',
                               label=f'{run}: best policy at the end (--checkpoint best)')
    random_final = np.mean([r['random_policy']['final'] for r in results])
    panels[1][column].axhline(random_final, color='gray', linestyle='--', label='random policy')
    panels[1][column].axhline(1.0, color='tab:red', linewidth=0.8, label='1 m')
    panels[0][column].set_ylabel('eval return')
    panels[1][column].set_ylabel('forward distance (m), greedy policy')
    for row in panels:
      row[column].set_xlabel(x_label)
  panels[0][0].legend(fontsize=7)
  # Below the panels: with several runs, a legend inside would cover the curves.
  handles, labels = panels[1][0].get_legend_handles_labels()
  figure.legend(handles, labels, loc='lower center', ncol=2, fontsize=7)
  legend_inches = 0.14 * -(-len(labels) // 2) + 0.2
  figure.suptitle('Minitaur (training_variables_minitaur.sh): 1000-step episodes', fontsize=10)
  figure.tight_layout(rect=(0, legend_inches / figure.get_figheight(), 1, 1))
  figure.savefig(path, dpi=80)


def checkpoint_row(result: dict, checkpoint: str) -> dict:
  return next(row for row in result['checkpoints'] if row['checkpoint'] == checkpoint)


def first_reaching(rows: Sequence[dict], key: str, threshold: float) -> Optional[dict]:
  return next((row for row in rows if row[key] >= threshold), None)


def best_policy_text(result: dict) -> str:
  best = result.get('best_policy')
  if not best:
    return 'not recorded (a run from before status.json had best_policy)'
  row = checkpoint_row(result, best['checkpoint'])
  return (f"{best['checkpoint']} ({row['minutes']:.0f} min): **{row['final_distance']:.2f} m** on "
          f"the final physics, {row['nominal_distance']:.2f} m nominal (its evaluation in "
          f"training: {best['score_name']} {best['score']:.2f}, iteration {best['iteration']})")


def summary_table(results: Sequence[dict]) -> str:
  """Per run: where it ended, and what its best and its last policy walk on the final physics."""
  lines = ['| run | ended at | best policy (`--checkpoint best`) | last checkpoint |',
           '| --- | --- | --- | --- |']
  for result in results:
    last = result['checkpoints'][-1]
    best = result.get('best_policy')
    best_text = 'not recorded'
    if best:
      row = checkpoint_row(result, best['checkpoint'])
      best_text = f"{row['final_distance']:.2f} m ({row['minutes']:.0f} min)"
    lines.append(f"| {os.path.basename(result['exp_dir'])} | {result['wall_minutes']:.0f} min, "
                 f"iteration {result['iteration']} | {best_text} | "
                 f"{last['final_distance']:.2f} m ({last['minutes']:.0f} min) |")
  return '\n'.join(lines)


def seed_section(result: dict) -> str:
  last = result['checkpoints'][-1]
  walking = first_reaching(result['checkpoints'], 'final_distance', 1.0)
  reached = ('never, within this run' if walking is None else
             f"{walking['minutes']:.0f} min, {walking['env_steps']:,.0f} env steps "
             f"({walking['checkpoint']})")
  final = ', '.join(f'{k} {v:g}' for k, v in result['final_physics'].items())
  rows = [
      ('wall time', f"{result['wall_minutes']:.1f} min" + (
          '' if 'stopped_by_budget' not in result else ' from run_script.sh, ended by ' +
          ('the time budget' if result['stopped_by_budget'] else 'num_iter'))),
      ('iterations, env steps, SGD steps', f"{result['iteration']}, {result['env_steps']:,}, "
                                           f"{result['train_step']:,}"),
      (f'forward distance, last checkpoint ({last["checkpoint"]}), final physics ({final})',
       f"**{last['final_distance']:.2f} m** (episodes: "
       + ', '.join(f'{d:.2f}' for d in last['final_distances']) + ')'),
      ('forward distance, last checkpoint, nominal physics', f"{last['nominal_distance']:.2f} m"),
      ('eval return, last checkpoint, final / nominal physics',
       f"{last['final_return']:.2f} / {last['nominal_return']:.2f}"),
      ('random policy, final / nominal physics', f"{result['random_policy']['final']:.2f} / "
                                                 f"{result['random_policy']['nominal']:.2f} m"),
      ('first checkpoint walking ≥ 1 m on the final physics', reached),
      ('the best policy at the end (`run.py --checkpoint best`)', best_policy_text(result)),
      ('peak RSS (VmHWM)', ', '.join(f'{p} {m:.0f} MiB' for p, m in
                                     sorted(result.get('peak_rss_mib', {}).items()))
       or 'not measured (an analyzed run)'),
      ('disk use of the experiment dir', ', '.join(f'{d} {m:.1f}' for d, m in
                                                   result['disk_mib'].items()) + ' MiB'),
  ]
  table = '\n'.join(['| | |', '| --- | --- |'] + [f'| {k} | {v} |' for k, v in rows])
  per_checkpoint = '\n'.join(
      ['| checkpoint | minutes | env steps | final physics (m) | nominal (m) |',
       '| --- | --- | --- | --- | --- |'] +
      [f"| {r['checkpoint']} | {r['minutes']:.1f} | {r['env_steps']:,.0f} | "
       f"{r['final_distance']:.2f} | {r['nominal_distance']:.2f} |" for r in result['checkpoints']])
  return (f"### {os.path.relpath(result['exp_dir'], common.REPO)}\n\n"
          f"{table}\n\nEvery policy checkpoint, {result['episodes_per_measure']} greedy episodes on "
          f"each physics:\n\n{per_checkpoint}\n\n{result['shown_checkpoint']}'s robustness map "
          f"(`run.py --sweep {' --sweep '.join(ROBUSTNESS_GRID)} --num_episodes 2`, return per "
          f"cell, forward distance in the last column):\n\n```\n{result['robustness_table'].strip()}\n```\n")


def write_docs(results: Sequence[dict]) -> str:
  os.makedirs(FIGURES, exist_ok=True)
  draw_curves(results, os.path.join(FIGURES, 'learning_curve.png'))
  shutil.copy(results[0]['robustness_png'], os.path.join(FIGURES, 'robustness.png'))
  shutil.copy(results[0]['gif'], os.path.join(FIGURES, 'walk.gif'))
  with open(os.path.join(FIGURES, 'results.json'), 'w') as f:
    json.dump(results, f, indent=1)
  first = results[0]
  exp = os.path.relpath(first['exp_dir'], common.REPO)
  gif_command = (f"python tfagents_system/run.py --params {PARAMS} --exp_dir {exp} "
                 f"--config {exp}/config.json --checkpoint {first['shown_checkpoint']} "
                 + ' '.join(GIF_ARGS))
  with open(os.path.join(first['exp_dir'], 'config.json')) as f:
    config = json.load(f)
  text = f"""# Does the Minitaur example learn to walk?

Made by `python -m bench.minitaur_learning` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}) on
{common.machine_description()}: `./run_script.sh training_variables_minitaur.sh` as a user runs it
(its config `config/minitaur.json`), then every policy checkpoint's greedy policy measured on
1000-step episodes. Forward distance: how far pybullet's base position moved along x in an
episode (`MinitaurEnv.episode_measures`). Final physics: the curriculum's last values
({', '.join(f'{k} {v:g}' for k, v in first['final_physics'].items())}); nominal: mass and friction 1.0.

The run's config (`config.json` of its experiment dir):

```json
{json.dumps(config, indent=1)}
```

Forward distance on the final physics, {first['episodes_per_measure']} greedy 1000-step episodes per
policy:

{summary_table(results)}

![learning curves](minitaur/learning_curve.png)

![the trained policy: {first['shown_checkpoint']} of {exp}](minitaur/walk.gif)

The GIF: `{gif_command}`.

![robustness map of {first['shown_checkpoint']}](minitaur/robustness.png)

""" + '\n'.join(seed_section(r) for r in results)
  path = os.path.join(DOCS, 'minitaur.md')
  with open(path, 'w') as f:
    f.write(text)
  return path


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--seeds', type=int, nargs='+', default=[0])
  parser.add_argument('--minutes', type=float, default=60.0,
                      help='wall-time budget of each run (it ends at num_iter first if it can)')
  parser.add_argument('--episodes', type=int, default=4,
                      help='greedy episodes per checkpoint and physics')
  parser.add_argument('--analyze', nargs='+', metavar='EXP_DIR',
                      help='measure these finished runs instead of training')
  args = parser.parse_args(argv)
  exp_dirs = ([os.path.abspath(d) for d in args.analyze] if args.analyze else
              [train(seed, args.minutes) for seed in args.seeds])
  results = [stored_or_new_analysis(exp_dir, args.episodes) for exp_dir in exp_dirs]
  print(f'written: {write_docs(results)}')


if __name__ == '__main__':
  main()
