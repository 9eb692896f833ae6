import collections

import numpy as np
import pytest

from tfagents_system.common.curriculum import ConfigError
from tfagents_system.common.curriculum import Curriculum
from tfagents_system.common.curriculum import CurriculumCursor

CONFIG = {'curriculum': {
    'mass': {'iters': [0, 2, 2, 5], 'range': [1.0, 4.0]},
    'friction': {'iters': [3, 6], 'range': [0.1, 0.5]},
}}


def reference_updates(config, num_iterations):
  """The reference's pseudo-code, applied per iteration and parameter."""
  applied = []
  for name, entry in config['curriculum'].items():
    iters = collections.deque(entry['iters'])
    values = collections.deque(np.linspace(*entry['range'], len(entry['iters'])))
    for k in range(num_iterations):
      while iters and k >= iters[0]:
        iters.popleft()
        applied.append((k, name, values.popleft()))
  return sorted(applied, key=lambda a: a[0])  # stable: parameter order within an iteration


def test_cursor_applies_every_due_value_in_order_like_the_reference():
  cursor = CurriculumCursor(Curriculum.from_env_config(CONFIG))
  ours = [(k, name, value) for k in range(8) for name, value in cursor.updates_due(k)]
  assert [(k, n) for k, n, _ in ours] == [(k, n) for k, n, _ in reference_updates(CONFIG, 8)]
  np.testing.assert_allclose([v for *_, v in ours], [v for *_, v in reference_updates(CONFIG, 8)])


def test_values_are_linspace_of_range():
  curriculum = Curriculum.from_env_config(CONFIG)
  assert curriculum.schedules[0].values == (1.0, 2.0, 3.0, 4.0)
  assert curriculum.values_at(0) == {'mass': 1.0}
  assert curriculum.values_at(2) == {'mass': 3.0}
  assert curriculum.values_at(3) == {'mass': 3.0, 'friction': 0.1}
  assert curriculum.values_at(100) == {'mass': 4.0, 'friction': 0.5}


def test_rejoining_worker_gets_latest_value_once_per_parameter():
  cursor = CurriculumCursor(Curriculum.from_env_config(CONFIG))
  cursor.skip_to(4)
  assert cursor.updates_due(4) == [('mass', 3.0), ('friction', 0.1)]
  assert cursor.updates_due(4) == []
  assert cursor.updates_due(6) == [('mass', 4.0), ('friction', 0.5)]


def test_rejoining_before_any_value_is_due_skips_nothing():
  cursor = CurriculumCursor(Curriculum.from_env_config(CONFIG))
  cursor.skip_to(1)
  assert cursor.updates_due(1) == [('mass', 1.0)]


def test_no_curriculum_is_fine():
  assert Curriculum.from_env_config({}).values_at(10) == {}


@pytest.mark.parametrize('entry, message', [
    ({'iters': [0, -1], 'range': [0, 1]}, "'mass': \"iters\" must hold non-negative integers, got -1"),
    ({'iters': [3, 1], 'range': [0, 1]}, "'mass': \"iters\" must be non-decreasing, got 1 after 3"),
    ({'iters': [0, 1.5], 'range': [0, 1]}, 'non-negative integers, got 1.5'),
    ({'iters': [0, True], 'range': [0, 1]}, 'non-negative integers, got True'),
    ({'iters': [], 'range': [0, 1]}, '"iters" must be a non-empty list'),
    ({'iters': [0], 'range': [0]}, '"range" must be two finite numbers'),
    ({'iters': [0], 'range': [0, float('nan')]}, '"range" must be two finite numbers'),
    ({'iters': [0], 'range': [0, 'a']}, '"range" must be two finite numbers'),
    ({'iters': [0]}, 'missing "range"'),
    ({'iters': [0], 'range': [0, 1], 'rnage': 1}, "unknown key 'rnage'"),
    ([0, 1], 'must be an object'),
])
def test_invalid_schedules_are_rejected_naming_the_parameter(entry, message):
  with pytest.raises(ConfigError) as e:
    Curriculum.from_env_config({'curriculum': {'mass': entry}})
  assert "curriculum parameter 'mass'" in str(e.value)
  assert message in str(e.value)
  assert '\n' not in str(e.value)


def test_a_worker_restarted_at_iteration_0_gets_the_latest_value_once_not_every_value():
  curriculum = Curriculum.from_env_config(
      {'curriculum': {'mass': {'iters': [0, 0, 0, 4], 'range': [1.0, 4.0]}}})
  first_start, restarted = CurriculumCursor(curriculum), CurriculumCursor(curriculum)
  first_start.join_at(0, restarted=False)
  restarted.join_at(0, restarted=True)
  assert first_start.updates_due(0) == [('mass', 1.0), ('mass', 2.0), ('mass', 3.0)]
  assert restarted.updates_due(0) == [('mass', 3.0)]
  assert restarted.updates_due(4) == [('mass', 4.0)]
