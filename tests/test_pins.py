import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
# The parser scripts/setup_env.sh checks SAC_PYTHON with.
import check_pins  # pylint: disable=g-import-not-at-top,wrong-import-position
from check_pins import PIN  # pylint: disable=g-import-not-at-top,wrong-import-position


def pins(path):
  return check_pins.pins(os.path.join(REPO, path))


def test_every_requirement_is_pinned_exactly():
  with open(os.path.join(REPO, 'requirements.lock')) as f:
    lines = [l for l in f if l.strip() and not l.startswith('#')]
  assert lines and all(PIN.match(l) for l in lines), [l for l in lines if not PIN.match(l)]


def test_environment_yml_has_the_same_pins_as_the_lock():
  assert pins('environment.yml') == pins('requirements.lock')


def test_the_stack_the_project_promises():
  lock = pins('requirements.lock')
  assert lock['tensorflow'].startswith('2.15.')
  assert lock['tf-agents'] == '0.19.0'
  assert lock['dm-reverb'] == '0.14.0'
  assert lock['tensorflow-probability'].startswith('0.23')
  assert int(lock['numpy'].split('.')[0]) < 2
  for name in ('pybullet', 'absl-py', 'imageio', 'imageio-ffmpeg'):
    assert name in lock
