"""What an env measured of an episode besides its return, e.g. how far a robot walked.

An env may define `episode_measures() -> Dict[str, float]`; evaluations call it after an
episode's last step, before the next reset, and report each measure's mean next to the return
(run.py per episode and over all, the sweeps per cell).
"""
from typing import Dict, Mapping, Sequence


def read(env) -> Dict[str, float]:
  """The measures of the episode `env` just ended; none when the env defines none."""
  measure = getattr(env, 'episode_measures', None)
  return {name: float(value) for name, value in measure().items()} if measure else {}


def means(episodes: Sequence[Mapping[str, float]]) -> Dict[str, float]:
  """Each measure's mean over the episodes that have it."""
  names = sorted({name for measures in episodes for name in measures})
  return {name: sum(m[name] for m in episodes if name in m) /
          sum(1 for m in episodes if name in m) for name in names}
