"""What the terminal shows while a run goes: one live progress line, then a summary."""
import contextlib
import datetime
import os
import sys
import time
from typing import Any, Dict, Optional

from tfagents_system import REPO_ROOT

REFRESH_S_WITHOUT_TTY = 10.0


@contextlib.contextmanager
def quiet_terminal():
  """Keeps import and start-up chatter off the terminal: TensorFlow's and gym's (C++ and
  Python, on stderr) and pybullet's (its envs' module prints and its C client's, on stdout)."""
  saved = {}
  with open(os.devnull, 'w') as devnull:
    for stream in (sys.stdout, sys.stderr):
      stream.flush()
      saved[stream] = os.dup(stream.fileno())
      os.dup2(devnull.fileno(), stream.fileno())
  try:
    yield
  finally:
    for stream, fd in saved.items():
      stream.flush()
      os.dup2(fd, stream.fileno())
      os.close(fd)


def _measures_text(status: Dict[str, Any]) -> str:
  """The last evaluation's episode measures, e.g. ' (forward_distance_m 1.03)'."""
  measures = status.get('eval_measures') or {}
  return (' (' + ', '.join(f'{name} {value:.2f}' for name, value in measures.items()) + ')'
          if measures else '')


def format_best_policy(best: Dict[str, Any]) -> str:
  """status.json's best_policy (trainer/best_policy.py), e.g. 'policy_checkpoint_0000270000
  (forward_distance_m 2.86 at iteration 270; run.py --checkpoint best)'."""
  return (f"{best['checkpoint']} ({best['score_name']} {best['score']:.2f} at iteration "
          f"{best['iteration']}; run.py --checkpoint best)")


def format_progress(status: Dict[str, Any]) -> str:
  parts = [f"iteration {status.get('iteration', 0)}/{status.get('num_iter', '?')}",
           f"env steps {status.get('env_steps', 0):,}"]
  if status.get('eval_return') is not None:
    parts.append(f"eval return {status['eval_return']:.2f}" + _measures_text(status))
  if status.get('env_steps_per_sec') is not None:
    parts.append(f"{status['env_steps_per_sec']:.0f} env steps/s")
  if status.get('sgd_steps_per_sec') is not None:
    parts.append(f"{status['sgd_steps_per_sec']:.0f} SGD steps/s")
  if status.get('eta_s') is not None:
    parts.append(f"ETA {datetime.timedelta(seconds=round(status['eta_s']))}")
  if status.get('missing_workers'):
    parts.append(f"workers not reporting: {status['missing_workers']}")
  return ' | '.join(parts)


class ProgressDisplay:
  """Rewrites one line on a terminal; prints a line now and then into a file or pipe."""

  def __init__(self, stream):
    self._stream = stream
    self._tty = stream.isatty()
    self._line: Optional[str] = None
    self._last_print = float('-inf')

  def message(self, text: str) -> None:
    self._end_line()
    self._write(text + '\n')

  def update(self, status: Optional[Dict[str, Any]]) -> None:
    self.show(format_progress(status) if status else 'starting the programs...')

  def show(self, line: str) -> None:
    """The live line: rewritten in place on a terminal, printed every so often otherwise."""
    if self._tty:
      self._write('\r\033[K' + line)
      self._line = line
    elif line != self._line and time.monotonic() - self._last_print >= REFRESH_S_WITHOUT_TTY:
      self._write(line + '\n')
      self._line, self._last_print = line, time.monotonic()

  def _end_line(self) -> None:
    if self._tty and self._line is not None:
      self._write('\n')
      self._line = None

  def _write(self, text: str) -> None:
    try:
      self._stream.write(text)
      self._stream.flush()
    except OSError:
      # The terminal was closed (SIGHUP) or the pipe's reader is gone: the run goes on, or
      # stops, regardless; what it says from now on goes nowhere, also at the exit's flush.
      devnull = os.open(os.devnull, os.O_WRONLY)
      os.dup2(devnull, self._stream.fileno())
      os.close(devnull)

  def finish(self, experiment, settings, completed: bool) -> None:
    status = experiment.read_status() or {}
    self._end_line()
    if status:
      self._write(format_progress(status) + '\n')
    head = 'Training complete.' if completed else 'Training stopped before the end.'
    eval_return = status.get('eval_return')
    lines = [head]
    if eval_return is not None:
      lines.append(f"  final eval return   {eval_return:.2f}{_measures_text(status)} "
                   f"(iteration {status.get('eval_iteration')})")
    if status.get('best_policy'):
      lines.append(f"  best policy         {format_best_policy(status['best_policy'])}")
    latest = experiment.latest_policy_checkpoint()
    lines += [
        f'  checkpoints         {experiment.train_dir}/checkpoints',
        f'  policies            {experiment.policies_dir}',
        f'  TensorBoard         tensorboard --logdir {experiment.root}',
        f'  program logs        {experiment.root}/logs/<program>/current',
    ]
    if latest:
      # The interpreter this run used (.venv's, or SAC_PYTHON), as the command from the repository
      # root needs it.
      python = (os.path.relpath(sys.executable, REPO_ROOT)
                if sys.executable.startswith(REPO_ROOT + os.sep) else sys.executable)
      lines.append(
          f'  evaluate the policy: {python} tfagents_system/run.py --params {settings.params} '
          f'--exp_dir {experiment.root} --config {settings.config} --num_episodes 5 '
          f'--checkpoint {latest.rsplit("/", 1)[-1]} --seed 0')
    self._write('\n'.join(lines) + '\n')
